"""The results a desk has recorded, read back: the latest one (after a restart, the newest kept in the
store), one by id, and the history a page at a time, newest first. Only the page's results are
decrypted; results whose personal part was purged after the retention period are neither listed nor
counted. A face is shown again while it is still in memory (:class:`agent.service.state.DeskState`).
"""

from __future__ import annotations

from agent.errors import InvalidInputError
from agent.models import VerificationResult
from agent.service.state import DeskResult, DeskState
from agent.service.verdict import authenticity_badge
from sync.store import Store

MAX_HISTORY_PAGE = 100


class History:
    def __init__(self, store: Store, state: DeskState) -> None:
        self.store = store
        self.state = state

    def latest(self) -> DeskResult | None:
        shown = self.state.latest
        if shown is not None:
            return shown
        last = self.store.results.page(1, 0)
        return self._again(last[0]) if last else None

    def get(self, result_id: str) -> DeskResult | None:
        shown = self.state.latest
        if shown is not None and shown.result_id == result_id:
            return shown
        result = self.store.results.get(result_id)
        return self._again(result) if result is not None else None

    def page(self, *, page: int = 1, size: int = 20) -> tuple[list[DeskResult], int]:
        """One page of results, newest first, and how many there are in all."""
        if page < 1:
            raise InvalidInputError("must be 1 or more", field="page")
        if not 1 <= size <= MAX_HISTORY_PAGE:
            raise InvalidInputError(f"must be between 1 and {MAX_HISTORY_PAGE}", field="size")
        found = self.store.results.page(size, (page - 1) * size)
        return [self._again(r) for r in found], self.store.results.count(include_purged=False)

    def _again(self, result: VerificationResult) -> DeskResult:
        """A stored result as the desk shows it again: no next steps, the face while still in memory."""
        return DeskResult(result, (), authenticity_badge(result.source, result.evidence),
                          self.state.face(result.result_id))
