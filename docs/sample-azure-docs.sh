#!/bin/sh
# Assemble the small git repository that docs/audit-session.md (section 6) backfills from:
# the page's real versions from watcher/corpus, committed under their paths in
# MicrosoftDocs/azure-docs at fixed times, with the rename of 2021. Author, committer and
# times are fixed, so the commit ids are the same on every machine.
# Usage: sh docs/sample-azure-docs.sh DIR   (DIR must not exist yet)
set -eu
dest=${1:?usage: sh docs/sample-azure-docs.sh DIR}
if [ -e "$dest" ]; then
  echo "sample-azure-docs.sh: $dest exists already" >&2
  exit 2
fi
corpus=$(cd "$(dirname "$0")/../watcher/corpus" && pwd)
dir=articles/active-directory/managed-identities-azure-resources
old=$dir/services-support-managed-identities.md
new=$dir/managed-identities-status.md
GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
GIT_AUTHOR_NAME=docs GIT_AUTHOR_EMAIL=docs@example.com
GIT_COMMITTER_NAME=docs GIT_COMMITTER_EMAIL=docs@example.com
export GIT_CONFIG_GLOBAL GIT_CONFIG_NOSYSTEM GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL
export GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL

git init -q -b main "$dest"
commit() { # TIME MESSAGE
  GIT_AUTHOR_DATE=$1 GIT_COMMITTER_DATE=$1 git -C "$dest" commit -q -m "$2"
}
put() { # CORPUS_FILE PATH
  mkdir -p "$dest/$(dirname "$2")"
  cp "$corpus/$1" "$dest/$2"
  chmod 644 "$dest/$2"
  git -C "$dest" add "$2"
}
put en/2019-06-19__MicrosoftDocs__a4b043d.md "$old"
commit 2019-06-19T17:02:11Z "Managed identities: services that support them"
put en/2021-01-28__MicrosoftDocs.md "$old"
commit 2021-01-28T19:45:30Z "Managed identities: user-assigned identities in more clouds"
put en/2021-11-09__MicrosoftDocs__03436ea.md "$old"
commit 2021-11-09T22:10:05Z "Managed identities: Azure Arc-enabled names"
git -C "$dest" mv "$old" "$new"
commit 2021-12-01T09:00:00Z "Rename services-support-managed-identities.md to managed-identities-status.md"
put status-page/2021-12-08__MicrosoftDocs__00605c9.md "$new"
commit 2021-12-08T18:20:00Z "Managed identities: one status table per service"
git -C "$dest" log --reverse --format="%h %s"
