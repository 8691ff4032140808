import { Directive, Field, ID, ObjectType } from 'type-graphql';

// Box has no read-by-app endpoint, so other subgraphs may reference an App by id but cannot ask this
// subgraph to resolve one: the key is declared non-resolvable.
@Directive('@key(fields: "id", resolvable: false)')
@ObjectType({ description: 'An app that has authenticated from a device (Box).', simpleResolvers: true })
export class App {
  @Field(() => ID, { description: "Box's app guid." })
  id: string;

  @Field(() => String, { nullable: true, description: "The app's name in Box; null when Box gives none." })
  name: string | null;

  @Field(() => String, {
    nullable: true,
    description: "The app's description in Box; null when Box gives none.",
  })
  description: string | null;
}
