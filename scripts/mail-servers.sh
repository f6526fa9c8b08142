#!/usr/bin/env bash
# Real mail servers for tests and local development: Dovecot (Debian's dovecot-imapd) on 127.0.0.1:10143
# (IMAP, no TLS) and aiosmtpd on 127.0.0.1:10025, everything under var/ci-mail/:
#   users          passwd-file: desk@shop.test / desk-secret, customer@example.com / customer-secret
#   mail/<user>/Maildir   each user's mail (IMAP); SMTP mail to a known user is delivered here too
#   smtp-maildir/  every mail the SMTP server accepted (a Maildir: python's mailbox.Maildir reads it)
# Usage: scripts/mail-servers.sh start|stop|status. `start` is idempotent. MAIL_IMAP_PORT / MAIL_SMTP_PORT /
# MAIL_ROOT move it elsewhere (e.g. a second checkout running its own pair).
set -euo pipefail
cd "$(dirname "$0")/.."

ROOT=${MAIL_ROOT:-$PWD/var/ci-mail}
IMAP_PORT=${MAIL_IMAP_PORT:-10143}
SMTP_PORT=${MAIL_SMTP_PORT:-10025}
PY=${PY:-$PWD/.venv/bin/python}
DOVECOT=${DOVECOT:-$(command -v dovecot || echo /usr/sbin/dovecot)}

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Which folder the pair now on these ports serves: a pair started from another checkout delivers elsewhere, so
# `start` stops it first (tests read the mail SMTP delivered from $ROOT).
OWNER=${TMPDIR:-/tmp}/aftersales-mail-servers-$IMAP_PORT-$SMTP_PORT.root

wait_port() {
  for _ in $(seq 100); do answers "$1" && return 0; sleep 0.1; done
  echo "mail-servers: nothing answers on 127.0.0.1:$1 (see $ROOT/*.log)" >&2
  return 1
}

start_dovecot() {
  if answers "$IMAP_PORT"; then return 0; fi
  mkdir -p "$ROOT/run" "$ROOT/state" "$ROOT/mail"
  if [ "$(id -u)" = 0 ]; then
    # Dovecot will not serve mail as root: the mail belongs to nobody, the helpers are Debian's own users.
    mail_uid=$(id -u nobody); mail_gid=$(id -g nobody); login=dovenull; internal=dovecot
  else
    mail_uid=$(id -u); mail_gid=$(id -g); login=$(id -un); internal=$(id -un)
  fi
  : >"$ROOT/users"
  for entry in desk@shop.test:desk-secret customer@example.com:customer-secret; do
    user=${entry%%:*}
    echo "$user:{PLAIN}${entry#*:}:$mail_uid:$mail_gid::$ROOT/mail/$user" >>"$ROOT/users"
    mkdir -p "$ROOT/mail/$user/Maildir"/{cur,new,tmp}
  done
  chown -R "$mail_uid:$mail_gid" "$ROOT/mail"
  chmod -R a+rwX "$ROOT/mail"  # the SMTP server, as whoever runs it, delivers into these Maildirs
  sed -e "s|@ROOT@|$ROOT|g" -e "s|@PORT@|$IMAP_PORT|g" -e "s|@LOGIN_USER@|$login|g" \
      -e "s|@INTERNAL_USER@|$internal|g" deploy/ci/dovecot.conf.in >"$ROOT/dovecot.conf"
  # Detached from our stdout: a caller reading it (CI's log pipe, a test's subprocess) would wait forever.
  "$DOVECOT" -c "$ROOT/dovecot.conf" </dev/null >>"$ROOT/dovecot.log" 2>&1
  wait_port "$IMAP_PORT"
}

start_smtp() {
  if answers "$SMTP_PORT"; then return 0; fi
  if [ ! -x "$PY" ]; then
    echo "mail-servers: $PY is missing: make .venv/.installed-dev first (aiosmtpd is a dev dependency)" >&2
    return 1
  fi
  PYTHONPATH=scripts nohup "$PY" -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" \
    -c ci_smtp.MaildirDelivery "$ROOT" </dev/null >"$ROOT/smtp.log" 2>&1 &
  echo $! >"$ROOT/smtp.pid"
  wait_port "$SMTP_PORT"
}

stop() {
  if [ -f "$ROOT/dovecot.conf" ]; then "$DOVECOT" -c "$ROOT/dovecot.conf" stop 2>/dev/null || true; fi
  if [ -f "$ROOT/smtp.pid" ]; then kill "$(cat "$ROOT/smtp.pid")" 2>/dev/null || true; rm -f "$ROOT/smtp.pid"; fi
  # A pair whose folder was deleted under it (a checkout removed while they ran) by their command lines.
  pkill -f -- "-c $ROOT/dovecot.conf" 2>/dev/null || true
  pkill -f -- "ci_smtp.MaildirDelivery $ROOT" 2>/dev/null || true
}

status() {
  local rc=0
  if answers "$IMAP_PORT"; then echo "imap 127.0.0.1:$IMAP_PORT up"; else echo "imap 127.0.0.1:$IMAP_PORT down"; rc=1; fi
  if answers "$SMTP_PORT"; then echo "smtp 127.0.0.1:$SMTP_PORT up"; else echo "smtp 127.0.0.1:$SMTP_PORT down"; rc=1; fi
  echo "maildir $ROOT"
  return $rc
}

take_over() {
  local other
  other=$(cat "$OWNER" 2>/dev/null || true)
  # Another checkout's pair, or a pair from a folder of this name that was since deleted and made again.
  if [ -n "$other" ] && { [ "$other" != "$ROOT" ] || [ ! -f "$ROOT/dovecot.conf" ]; }; then
    ROOT=$other stop
    for _ in $(seq 50); do answers "$IMAP_PORT" || answers "$SMTP_PORT" || break; sleep 0.1; done
  fi
  echo "$ROOT" >"$OWNER"
}

case "${1:-}" in
  start) mkdir -p "$ROOT"; take_over; start_dovecot; start_smtp; status ;;
  stop) stop; rm -f "$OWNER" ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
