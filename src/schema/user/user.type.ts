import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** Root values are `UserRef`s: the id, plus whatever an API already said about the user. */
export interface UserRef {
  userId: string;
  email?: string | null;
}

@Directive('@key(fields: "userId")')
@ObjectType({ description: 'A person in the fleet: a Knox Manage user, also seen by Box on devices.' })
export class User {
  @Field(() => ID)
  userId: string;

  @Field(() => String, { nullable: true })
  name: string | null;

  @Field(() => String, { nullable: true })
  email: string | null;

  @Field(() => Boolean, {
    nullable: true,
    description: 'Active in Knox Manage; null when Knox Manage does not know the user.',
  })
  active: boolean | null;

  @Field(() => String, { nullable: true })
  organization: string | null;
}
