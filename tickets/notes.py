"""Notes the desk writes on the timeline by itself ("SLA clocks paused", "Handed to the warehouse"),
kept as their English source text (the gettext msgid) with parameters, so every reader sees them in
their own language, whatever language the writer had.

    event_record(..., reason=note("Handed to %(department)s.", department=department.name))

makemessages collects `note("…")` like `gettext_noop` (tickets/management/commands/makemessages.py);
a msgid kept in a constant is marked with `gettext_noop`. A note is also a str (the text in the
active language) wherever a plain reason is expected; `event_build` stores its parts. A parameter may
itself be a note (a label that needs translating too). What a person typed stays a plain str.
"""

from django.utils.translation import gettext

# [[msgid, {name: value}], ...]: value a str or number, or a nested note's parts.
Parts = list[list]


def note_render(parts: Parts) -> str:
    """The note in the active language. A msgid changed since the event was written still reads, in
    English; a parameter the text no longer names is ignored."""
    rendered = []
    for msgid, params in parts:
        values = {name: note_render(value) if isinstance(value, list) else value for name, value in params.items()}
        text = gettext(msgid)
        try:
            rendered.append(text % values if values else text)
        except (KeyError, TypeError, ValueError):
            rendered.append(msgid % values if values else msgid)
    return " ".join(rendered)


class Note(str):
    parts: Parts

    def __new__(cls, parts: Parts):
        text = super().__new__(cls, note_render(parts))
        text.parts = parts
        return text

    def then(self, other: "Note") -> "Note":
        """This note followed by another (two sentences)."""
        return Note([*self.parts, *other.parts])


def note(msgid: str, **params) -> Note:
    return Note([[msgid, {name: value.parts if isinstance(value, Note) else value
                          for name, value in params.items()}]])
