"""Routes of the codes domain: the `/v1` API, feedback, and the public resolver."""

from fastapi import APIRouter

from app.codes import api, feedback, resolver, wellknown

router = APIRouter()
router.include_router(api.router)
router.include_router(feedback.router)
router.include_router(resolver.router)
router.include_router(wellknown.router)
