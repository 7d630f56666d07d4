# prodsafe template: start-up check for one required variable (ENT008).
# Placeholder: {{name}} (a validated variable name). Leading "#" lines are dropped.
: "${{{name}}:?{{name}} is required}"
