#!/bin/sh
# A merge request's first step (and the main branch's): berth validate of
# the commit, schemas and cross-document rules. Arguments go to berth
# validate (--strict).
. "$(dirname "$0")/common.sh"
berth_ validate "$@"
