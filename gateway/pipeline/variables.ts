/**
 * Checks of variable values that graphql-js's coercion does not make: a NUL character in a
 * string, which Postgres cannot store (it answered with an encoding error, masked as internal).
 * Linear in the size of the variables, bounded in depth.
 */
import { GraphQLError } from 'graphql';

const MAX_DEPTH = 32;

/** The first problem in `variables`, as an INVALID_ARGUMENT error naming the variable, or undefined. */
export function checkVariables(variables: Readonly<Record<string, unknown>>): GraphQLError | undefined {
  let problem: { path: string; reason: string } | undefined;
  const walk = (value: unknown, path: string, depth: number): void => {
    if (problem) return;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) problem = { path, reason: 'contains a NUL character' };
      return;
    }
    if (value === null || typeof value !== 'object') return;
    if (depth > MAX_DEPTH) {
      problem = { path, reason: `is nested more than ${MAX_DEPTH} levels deep` };
      return;
    }
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${path}[${i}]`, depth + 1));
    else for (const [k, v] of Object.entries(value)) walk(v, `${path}.${k}`, depth + 1);
  };
  for (const [name, value] of Object.entries(variables)) walk(value, `$${name}`, 0);
  if (!problem) return undefined;
  return new GraphQLError(`Variable ${problem.path.slice(0, 200)} ${problem.reason}`, {
    extensions: { code: 'INVALID_ARGUMENT', field: problem.path.slice(0, 200) },
  });
}
