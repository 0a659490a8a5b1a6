/**
 * Refuses string literals holding a NUL character, naming the argument: Postgres cannot store
 * one, and without this rule the database's encoding error was masked as an internal error.
 * (Variables get the same check in variables.ts.)
 */
import { GraphQLError, Kind, type ASTNode, type ValidationRule } from 'graphql';

/** The validation rule. */
export const NoNulCharactersRule: ValidationRule = (context) => ({
  StringValue(node, _key, parent, _path, ancestors) {
    if (!node.value.includes('\u0000')) return;
    // The argument is the parent, or an ancestor when the string sits in a list or an input object.
    const argument = [parent, ...[...ancestors].reverse()].find(
      (a): a is ASTNode & { kind: Kind.ARGUMENT } => !!a && !Array.isArray(a) && (a as ASTNode).kind === Kind.ARGUMENT,
    );
    const field = argument ? argument.name.value : 'a string';
    context.reportError(
      new GraphQLError(`Argument ${field} contains a NUL character`, {
        nodes: [node],
        extensions: { code: 'INVALID_ARGUMENT', field },
      }),
    );
  },
});
