"""Routes of the lists domain (filled in by its issue)."""

from fastapi import APIRouter

router = APIRouter()
