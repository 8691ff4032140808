import { Kind } from 'graphql';
import type { GraphQLResolveInfo, SelectionSetNode } from 'graphql';

/**
 * Names of the fields selected directly on the field being resolved, through inline fragments and named
 * fragments alike (directives such as @include are not evaluated: a name may be listed that is skipped,
 * which only ever makes a planner read a little more, never less).
 *
 * `onTypes`, for a field of an abstract type (`node`): only fragments on these types (the object's type
 * and its interfaces) count, so a `... on Device` selection says nothing about a User.
 */
export function selectedFieldNames(info: GraphQLResolveInfo, onTypes?: readonly string[]): Set<string> {
  const names = new Set<string>();
  const seen = new Set<string>();
  const applies = (typeName: string | undefined) =>
    !onTypes || typeName === undefined || onTypes.includes(typeName);
  const visit = (set: SelectionSetNode): void => {
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) names.add(s.name.value);
      else if (s.kind === Kind.INLINE_FRAGMENT) {
        if (applies(s.typeCondition?.name.value)) visit(s.selectionSet);
      } else if (!seen.has(s.name.value)) {
        seen.add(s.name.value);
        const fragment = info.fragments[s.name.value];
        if (fragment && applies(fragment.typeCondition.name.value)) visit(fragment.selectionSet);
      }
    }
  };
  for (const node of info.fieldNodes) if (node.selectionSet) visit(node.selectionSet);
  return names;
}
