// prodsafe template: stop at start-up when required environment variables are missing (APP001).
// Placeholders: {{names}} (quoted, comma-separated names) and {{q}} (the file's quote character).
// Written with a two-space indent; prodsafe re-indents it. Leading "//" lines are dropped.
const requiredEnvVars = [{{names}}];
const missingVars = requiredEnvVars.filter((varName) => !process.env[varName]);
if (missingVars.length > 0) {
  console.error(`[FATAL] Missing required environment variables: ${missingVars.join(', ')}`);
  console.error({{q}}[FATAL] Service cannot start without these variables.{{q}});
  process.exit(1);
}
