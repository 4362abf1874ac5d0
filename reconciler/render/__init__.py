"""Renderers: a Plan (later a StatusReport) in, a string out. They draw; they decide nothing."""
