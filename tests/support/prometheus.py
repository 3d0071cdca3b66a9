"""Prometheus under test: its HTTP API (alerts, rules, queries) and waits on what it reports."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from support.docker import wait_until


class Prometheus:
    """The HTTP API of a Prometheus published on 127.0.0.1:PORT."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.base + path, timeout=10) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]

    def alerts(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.get("/api/v1/alerts")["alerts"]
        return found

    def firing(self) -> set[str]:
        return {a["labels"]["alertname"] for a in self.alerts() if a["state"] == "firing"}

    def rule_queries(self) -> dict[str, str]:
        """Alert name -> the expression Prometheus has loaded for it."""
        groups = self.get("/api/v1/rules?type=alert")["groups"]
        return {rule["name"]: rule["query"] for group in groups for rule in group["rules"]}

    def wait_firing(self, alert: str, timeout: float = 120) -> None:
        wait_until(
            lambda: alert in self.firing(),
            timeout,
            lambda: f"{alert} not firing after {timeout}s: {self.alerts()}",
        )

    def wait_cleared(self, alert: str, timeout: float = 120) -> None:
        """Until ALERT is neither firing nor pending."""
        wait_until(
            lambda: alert not in {a["labels"]["alertname"] for a in self.alerts()},
            timeout,
            lambda: f"{alert} still active after {timeout}s: {self.alerts()}",
        )
