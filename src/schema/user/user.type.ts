import { Directive, Field, ID, ObjectType } from 'type-graphql';
import { Node } from '../node/node.type.js';

/** Root values are `UserRef`s: the id, plus whatever an API already said about the user. */
export interface UserRef {
  userId: string;
  email?: string | null;
}

@Directive('@key(fields: "userId")')
@ObjectType({
  description: 'A person in the fleet: a Knox Manage user, also seen by Box on devices.',
  implements: Node,
})
export class User implements Node {
  @Field(() => ID, {
    description:
      'Globally unique and opaque, for node(id); derived from userId. Use userId to name the user to Knox Manage, user(userId) and other subgraphs.',
  })
  id: string;

  @Field(() => ID, {
    description:
      "Knox Manage's user id (its unique login id), as Knox Manage and Box spell it; the key other subgraphs reference a User by.",
  })
  userId: string;

  @Field(() => String, {
    nullable: true,
    description:
      "The user's name in Knox Manage (userName); null when Knox Manage does not know the user or gives none.",
  })
  name: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'E-mail address from Knox Manage, else the one Box saw the user authenticate with; null when neither says.',
  })
  email: string | null;

  @Field(() => Boolean, {
    nullable: true,
    description: 'Active in Knox Manage; null when Knox Manage does not know the user.',
  })
  active: boolean | null;

  @Field(() => String, {
    nullable: true,
    description:
      "Name of the user's Knox Manage organization (orgName); null when Knox Manage does not know the user or does not say.",
  })
  organization: string | null;
}
