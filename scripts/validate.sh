#!/usr/bin/env bash
# `rasa data validate`, failing on any warning except "utterance not used in any story or
# rule" for responses that the custom actions or the channel guard send themselves, and
# those that Rasa's own default actions send (utter_restart, by action_restart).
set -uo pipefail
out=$(.venv/bin/rasa data validate 2>&1); status=$?
echo "$out" | grep -E "UserWarning|ERROR" | sed 's/\x1b\[[0-9;]*m//g' > /tmp/neurobot-validate.$$ || true
unexpected=0
while IFS= read -r line; do
  name=$(echo "$line" | sed -n "s/.*The utterance '\(utter_[a-z_]*\)' is not used in any story or rule.*/\1/p")
  # (code names responses through the constants of bot/names.py)
  if [ -n "$name" ] && grep -rq --include="*.py" "\"$name\"" actions addons bot/names.py; then continue; fi
  if [ "$name" = "utter_restart" ]; then continue; fi
  echo "$line"; unexpected=1
done < /tmp/neurobot-validate.$$
rm -f /tmp/neurobot-validate.$$
if [ $status -ne 0 ] || [ $unexpected -ne 0 ]; then echo "rasa data validate: failed"; exit 1; fi
echo "rasa data validate: ok (responses sent only by custom actions are not flagged)"
