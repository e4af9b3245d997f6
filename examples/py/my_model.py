"""An example Python module: each public function becomes the command "my_model.<name>"."""
import time


def predict(text, delay_ms=0):
    """A stand-in for a model or a DSPy program: returns a label and a score."""
    if delay_ms:
        time.sleep(delay_ms / 1000)
    print(f"predicting for {len(text)} characters")  # goes to the pool's logger, not the pipe
    return {"label": "positive" if "good" in text else "neutral", "score": round(min(1.0, len(text) / 100), 3)}


def remember(dspex_session, key, value):
    """Per-session state lives in the worker that serves the session."""
    dspex_session[key] = value
    return sorted(dspex_session)
