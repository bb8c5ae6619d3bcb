"""Complaints and reports (投诉举报, SPEC §10), after SAMR's 市场监督管理投诉举报处理暂行办法."""
