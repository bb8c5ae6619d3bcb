"""A signal's explanation in Chinese and English, from what it stored."""

from __future__ import annotations

from app.signals.models import Signal

SOURCE_ZH = {
    "scans": "扫码查询",
    "suspicious": "可疑码扫码",
    "low_ratings": "1-2 分差评",
    "complaints": "投诉举报",
    "failed_inspections": "监督抽查不合格",
    "recalls": "缺陷产品召回",
}
SOURCE_EN = {
    "scans": "scans",
    "suspicious": "scans of suspicious codes",
    "low_ratings": "ratings of 1-2",
    "complaints": "complaints and reports",
    "failed_inspections": "failed inspections",
    "recalls": "recalls",
}
LEVEL_ZH = {1: "一级（立即处置）", 2: "二级（限期处置）", 3: "三级（关注）"}
LEVEL_EN = {1: "level 1 (act now)", 2: "level 2 (act within a set time)", 3: "level 3 (watch)"}


def _p(value: float) -> str:
    return f"{value:.2e}"


def explain(signal: Signal) -> tuple[str, str]:
    where_zh = (
        f"{signal.day} 类别 {signal.category}、地区 {signal.region}（地市）的"
        f"{SOURCE_ZH[signal.source]}"
    )
    where_en = (
        f"{SOURCE_EN[signal.source]} of category {signal.category} in prefecture "
        f"{signal.region} on {signal.day}"
    )
    p = signal.params
    b = signal.baseline
    if signal.method == "ears_c2":
        zh = (
            f"{where_zh}为 {signal.observed:g}；EARS C2 以前 {p['lag_days']} 天之前的 "
            f"{p['baseline_days']} 天为基线，均值 {signal.expected:.2f}、标准差 {b['sigma']:.2f}"
            f"（下限 {p['sigma_floor']:g}），预警界限 {signal.bound:.2f}"
            f"（均值 + {p['threshold']:g} 倍标准差），"
            f"标准化值 {signal.statistic:.2f}，p = {_p(signal.p_value)}。"
        )
        en = (
            f"{where_en} were {signal.observed:g}; EARS C2 takes the {p['baseline_days']} days "
            f"ending {p['lag_days']} days before as baseline: mean {signal.expected:.2f}, sd "
            f"{b['sigma']:.2f} (floored at {p['sigma_floor']:g}); the bound is "
            f"{signal.bound:.2f} (mean + {p['threshold']:g} sd), z = {signal.statistic:.2f}, "
            f"p = {_p(signal.p_value)}."
        )
    elif signal.method == "poisson_cusum":
        zh = (
            f"{where_zh}为 {signal.observed:g}；泊松 CUSUM 以前 {p['baseline_days']} 天为基线，"
            f"λ0 = {signal.expected:.2f}、λ1 = {b['lambda1']:.2f}、参考值 k = {b['k']:.2f}，"
            f"累积和 {signal.statistic:.2f} 超过决策界限 h = {p['h']:g}（报警后归零）；"
            f"当日达到报警所需计数 {signal.bound:.2f}，p = {_p(signal.p_value)}。"
        )
        en = (
            f"{where_en} were {signal.observed:g}; a Poisson CUSUM with λ0 = "
            f"{signal.expected:.2f} from the {p['baseline_days']} days before, λ1 = "
            f"{b['lambda1']:.2f}, k = {b['k']:.2f}: the sum {signal.statistic:.2f} crossed "
            f"h = {p['h']:g} (reset after an alarm); the day's count needed to alarm was "
            f"{signal.bound:.2f}, p = {_p(signal.p_value)}."
        )
    else:
        zh = (
            f"{where_zh}：近 {p['window_days']} 天抽查 {b['window_trials']} 批次、不合格 "
            f"{b['window_failures']} 批次，类别基线不合格率 {b['rate']:.2%}"
            f"（前 {p['baseline_days']} 天 {b['trials']} 批次），期望 {signal.expected:.2f}，"
            f"精确二项检验 p = {_p(signal.p_value)}"
            f"（α = {p['alpha']:g}），报警界限 {signal.bound:g}。"
        )
        en = (
            f"{where_en}: {b['window_failures']} of {b['window_trials']} inspections failed in "
            f"{p['window_days']} days against the category's rate of {b['rate']:.2%} "
            f"({b['trials']} inspections in the {p['baseline_days']} days before); expected "
            f"{signal.expected:.2f}, exact binomial p = {_p(signal.p_value)} "
            f"(α = {p['alpha']:g}), alarm bound {signal.bound:g}."
        )
    gate_zh = f"最小计数 {p['min_count']}。预警等级：{LEVEL_ZH[signal.level]}。"
    gate_en = f"Minimum count {p['min_count']}. Level: {LEVEL_EN[signal.level]}."
    return f"{zh}{gate_zh}", f"{en} {gate_en}"
