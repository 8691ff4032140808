import { Field, ID, InterfaceType } from 'type-graphql';

/**
 * Relay's Global Object Identification: an object `node(id)` can fetch again by its id alone. Root
 * values are the types' own (DeviceRef, UserRef, UploadJob), told apart by their shape.
 */
@InterfaceType({
  description:
    'An object with a globally unique id that node(id) fetches again (Relay Global Object Identification): a Device, a User or an UploadJob.',
  // Every implementation is reachable from Query anyway; registering them as orphans would only move them
  // to the top of the printed SDL, ahead of Query.
  autoRegisterImplementations: false,
  resolveType: (value: object) =>
    'operation' in value ? 'UploadJob' : 'userId' in value ? 'User' : 'Device',
})
export abstract class Node {
  @Field(() => ID, {
    description:
      'Globally unique and opaque: node(id) fetches the object again by it. Stable across requests and releases; do not take it apart.',
  })
  id: string;
}
