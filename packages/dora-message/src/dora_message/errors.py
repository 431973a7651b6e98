"""Error roots shared by every dora package.

DoraError
├── DescriptorError      a dataflow YAML that cannot be used (names the place)
├── ProtocolError        a frame or message that breaks the wire protocol
│   └── VersionMismatch  the two sides speak different protocol versions
"""

from __future__ import annotations

from dora_message.quote import cap_message, excerpt


class DoraError(Exception):
    """Root of every error raised on purpose by dora."""


class DescriptorError(DoraError):
    """A dataflow descriptor is invalid.

    Attributes:
        path: where in the document the problem is, like ``nodes[2].inputs.tick``
            (empty when it concerns the whole file); kept whole, so the YAML line can be
            found, but shown cut.
        message: what is wrong, with a suggestion where one exists; cut to
            ``MAX_MESSAGE_CHARS`` whatever it quotes.
        file: the descriptor file, when known.
    """

    def __init__(self, message: str, path: str = "", file: str | None = None) -> None:
        self.message = cap_message(message)
        self.path = path
        self.file = file
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        at = f"{excerpt(self.path, 200)}: " if self.path else ""
        return f"{where}{at}{self.message}"


class ProtocolError(DoraError):
    """A peer sent something the protocol does not allow."""


class VersionMismatch(ProtocolError):
    """The node API and the daemon speak different protocol versions."""

    def __init__(self, ours: str, theirs: str, who: str = "daemon") -> None:
        self.ours = ours
        self.theirs = theirs
        super().__init__(
            f"protocol version mismatch: this side speaks {ours}, the {who} speaks {theirs}"
        )
