#!/usr/bin/env bash
# Fails when schema/generated/ differs from what codegen makes of schema/*.graphql:
# generated code is generated, never hand-edited, and never stale.
set -euo pipefail
cd "$(dirname "$0")/.."
file=schema/generated/resolvers-types.ts
before=$(mktemp)
cp "$file" "$before"
npx graphql-codegen --config codegen.yml --silent >/dev/null
if ! cmp -s "$before" "$file"; then
  diff -u "$before" "$file" | head -40 || true
  cp "$before" "$file"
  echo "schema/generated is stale: run 'npm run codegen' and commit the result." >&2
  exit 1
fi
rm -f "$before"
