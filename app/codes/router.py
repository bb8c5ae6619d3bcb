"""Routes of the codes domain (filled in by its issue)."""

from fastapi import APIRouter

router = APIRouter()
