"""A function whose log lines carry the caller's trace id (examples/otel.mjs)."""
import logging
import sys

logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s trace_id=%(trace_id)s %(message)s")
log = logging.getLogger("traced_model")


def predict(text, dspex_context):
    # dspex_context: {"traceparent", "trace_id", "span_id", "sampled", "command", "session_id"}
    log.info("predict %d chars", len(text), extra={"trace_id": dspex_context["trace_id"]})
    return {"label": "positive" if "good" in text else "neutral", "trace_id": dspex_context["trace_id"]}
