/** A GraphQL request as a transport received it (a JSON body, a query string, a graphql-ws message). */
export interface GraphQLRequest {
  readonly query?: string | undefined;
  readonly operationName?: string | null | undefined;
  readonly variables?: Readonly<Record<string, unknown>> | null | undefined;
  readonly extensions?: Readonly<Record<string, unknown>> | null | undefined;
}
