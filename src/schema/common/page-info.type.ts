import { Field, ObjectType } from 'type-graphql';

@ObjectType({
  description: 'Where a page of a Relay connection sits in its listing, and how to ask for the next one.',
  simpleResolvers: true,
})
export class PageInfo {
  @Field(() => Boolean, {
    description: 'True when more items follow this page: ask again with `after: endCursor`.',
  })
  hasNextPage: boolean;

  @Field(() => Boolean, { description: 'Always false: lists page forwards only (`first`/`after`).' })
  hasPreviousPage: boolean;

  @Field(() => String, {
    nullable: true,
    description: "The first item's cursor; null when the page is empty.",
  })
  startCursor: string | null;

  @Field(() => String, {
    nullable: true,
    description: "The last item's cursor, to pass as `after` for the next page; null when the page is empty.",
  })
  endCursor: string | null;
}

export function pageInfoOf(cursors: string[], hasNextPage: boolean): PageInfo {
  return {
    hasNextPage,
    hasPreviousPage: false,
    startCursor: cursors[0] ?? null,
    endCursor: cursors.at(-1) ?? null,
  };
}
