/**
 * The error every query limit refuses with: a GraphQLError whose `extensions` are
 * `{ code, measured, allowed }`, so clients can tell which limit they hit and by how much.
 */
import { GraphQLError, type ASTNode } from 'graphql';

/** Stable codes of the query limits, part of the public API (clients switch on them). */
export const QUERY_LIMIT_CODES = [
  'QUERY_TOO_DEEP',
  'QUERY_TOO_COSTLY',
  'TOO_MANY_ALIASES',
  'TOO_MANY_ROOT_FIELDS',
  'TOO_MANY_DIRECTIVES',
  'TOO_MANY_TOKENS',
] as const;

/** One of QUERY_LIMIT_CODES. */
export type QueryLimitCode = (typeof QUERY_LIMIT_CODES)[number];

/** What a refused request's error carries in `extensions`. */
export interface QueryLimitExtensions {
  readonly code: QueryLimitCode;
  /** The document's measure; a string such as "> 5000" where the parser stopped counting. */
  readonly measured: number | string;
  readonly allowed: number;
}

/** A request refused by a query limit; its message is written for the client. */
export class QueryLimitError extends GraphQLError {
  readonly code: QueryLimitCode;
  readonly measured: number | string;
  readonly allowed: number;

  constructor(args: {
    code: QueryLimitCode;
    measured: number | string;
    allowed: number;
    message: string;
    nodes?: ASTNode | readonly ASTNode[] | undefined;
  }) {
    const extensions: QueryLimitExtensions = { code: args.code, measured: args.measured, allowed: args.allowed };
    super(args.message, { nodes: args.nodes, extensions: { ...extensions } });
    this.name = 'QueryLimitError';
    this.code = args.code;
    this.measured = args.measured;
    this.allowed = args.allowed;
  }
}
