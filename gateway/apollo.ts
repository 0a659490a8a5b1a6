/**
 * The Apollo Server of the HTTP edge: our executor (graphql-jit), the pipeline's validation
 * rules and parse options (also applied before Apollo; kept here so Apollo validates exactly
 * what the pipeline does), error masking, the cache's response hook; Apollo's telemetry,
 * its cache-control plugin and its CDN landing page off.
 */
import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import type { GraphQLFormattedError, ValidationRule } from 'graphql';
import type { Context } from '../resolvers/context.ts';
import { cachePlugin } from './cache/plugin.ts';
import type { Executor } from './pipeline/executor.ts';

/** Builds the Apollo Server over `executor`. */
export function createApollo(options: {
  executor: Executor;
  validationRules: ValidationRule[];
  maxTokens: number;
  introspection: boolean;
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
}): ApolloServer<Context> {
  return new ApolloServer<Context>({
    gateway: options.executor.apolloGateway(),
    formatError: options.formatError,
    validationRules: options.validationRules,
    parseOptions: { maxTokens: options.maxTokens },
    introspection: options.introspection,
    includeStacktraceInErrorResponses: false,
    // The pipeline resolves persisted queries before Apollo sees the request.
    persistedQueries: false,
    plugins: [
      cachePlugin(),
      // Our GraphiQL is served from node_modules (gateway/graphiql.ts).
      ApolloServerPluginLandingPageDisabled(),
      // Apollo's hints wrap every resolver; our response cache reads the same hints from the SDL once (cache/policy.ts).
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
    ],
  });
}
