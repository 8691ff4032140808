import { GraphQLError } from 'graphql';
import type { AuthChecker } from 'type-graphql';
import type { Principal } from '../domain/scopes.js';
import type { GraphContext } from './context.js';

/**
 * `@Authorized(scope, …)`: the caller needs one of the listed scopes. With caller auth off (the
 * embedded development default) everything is allowed.
 */
export interface CallerAuth {
  enabled: boolean;
  principal: Principal | null;
}

export function requireScope(auth: CallerAuth, scopes: readonly string[]): void {
  if (!auth.enabled) return;
  if (!auth.principal) {
    throw new GraphQLError('Authentication required: send a bearer JWT in the Authorization header', {
      extensions: { code: 'UNAUTHENTICATED' },
    });
  }
  if (scopes.length > 0 && !scopes.some((s) => auth.principal!.scopes.has(s))) {
    throw new GraphQLError(`This needs the scope ${scopes.join(' or ')}`, {
      extensions: { code: 'FORBIDDEN', requiredScopes: [...scopes] },
    });
  }
}

export const scopeAuthChecker: AuthChecker<GraphContext> = ({ context }, scopes) => {
  requireScope(context.auth, scopes);
  return true;
};
