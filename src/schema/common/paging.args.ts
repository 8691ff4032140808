import { ArgsType, Field, Int } from 'type-graphql';
import { badUserInput } from '../errors.js';

/** The largest `first` any list accepts: one page must stay one cheap batch upstream. */
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 50;

@ArgsType()
export class PagingArgs {
  @Field(() => Int, {
    defaultValue: DEFAULT_PAGE_SIZE,
    description: `How many items, from 0 to ${MAX_PAGE_SIZE}.`,
  })
  first: number;

  @Field(() => String, { nullable: true, description: 'The `endCursor` of the previous page.' })
  after?: string | null;
}

export function checkedFirst(first: number): number {
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE) {
    throw badUserInput(`first must be between 0 and ${MAX_PAGE_SIZE}, got ${first}`, {
      argument: 'first',
      max: MAX_PAGE_SIZE,
    });
  }
  return first;
}
