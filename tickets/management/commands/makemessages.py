"""makemessages that also collects the desk's timeline notes: `note("…", …)` (tickets/notes.py) marks its
text for translation the way `gettext_noop` does."""

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    xgettext_options = [*makemessages.Command.xgettext_options, "--keyword=note"]
