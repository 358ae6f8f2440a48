/**
 * Syntax trees of DynamoDB expressions as written: placeholders are kept as written and
 * resolved later against ExpressionAttributeNames/Values (see attributes.ts), so one tree
 * type serves every expression kind and every validation DynamoDB does after parsing.
 *
 * Key condition expressions use the condition grammar; filter and condition expressions
 * (issue #6) use the same trees, and projection/update expressions reuse `Path`/`Operand`.
 */

export interface Span {
  /** Offsets into the expression text: [start, end). */
  readonly start: number;
  readonly end: number;
}

/** One step of a document path: `name`, `#placeholder` or `[index]`. */
export type PathElement =
  | { readonly kind: 'attribute'; readonly text: string; readonly span: Span }
  | { readonly kind: 'placeholder'; readonly text: string; readonly span: Span }
  | { readonly kind: 'index'; readonly index: number; readonly span: Span };

export interface PathOperand {
  readonly kind: 'path';
  readonly elements: readonly PathElement[];
  readonly span: Span;
}

export interface ValueOperand {
  readonly kind: 'value';
  /** The `:placeholder` as written. */
  readonly placeholder: string;
  readonly span: Span;
}

/** A function call: `size(path)` as an operand, or a condition function such as `begins_with(a, :b)`. */
export interface FunctionCall {
  readonly kind: 'call';
  readonly name: string;
  readonly args: readonly Operand[];
  readonly span: Span;
}

export type Operand = PathOperand | ValueOperand | FunctionCall;

export type Comparator = '=' | '<>' | '<' | '<=' | '>' | '>=';

export type Condition =
  | { readonly kind: 'compare'; readonly comparator: Comparator; readonly left: Operand; readonly right: Operand }
  | { readonly kind: 'between'; readonly subject: Operand; readonly lower: Operand; readonly upper: Operand }
  | { readonly kind: 'in'; readonly subject: Operand; readonly candidates: readonly Operand[] }
  | { readonly kind: 'function'; readonly call: FunctionCall }
  | { readonly kind: 'and' | 'or'; readonly left: Condition; readonly right: Condition }
  | { readonly kind: 'not'; readonly operand: Condition };

/** What parsing a condition yields: the tree plus facts DynamoDB reports only after a successful parse. */
export interface ParsedCondition {
  readonly condition: Condition;
  /** `((...))` somewhere: DynamoDB rejects it, but only once the whole text has parsed. */
  readonly redundantParentheses: boolean;
}

/** The right-hand side of a SET action: an operand, or two combined with `+` or `-`. */
export type UpdateValue =
  | Operand
  | {
      readonly kind: 'arithmetic';
      readonly operator: '+' | '-';
      readonly left: UpdateValue;
      readonly right: UpdateValue;
      readonly span: Span;
    };

export type UpdateSection = 'SET' | 'REMOVE' | 'ADD' | 'DELETE';

/** One action of an update expression, in the order written. */
export type UpdateAction =
  | { readonly section: 'SET'; readonly path: PathOperand; readonly value: UpdateValue }
  | { readonly section: 'REMOVE'; readonly path: PathOperand }
  | { readonly section: 'ADD' | 'DELETE'; readonly path: PathOperand; readonly value: ValueOperand };

export interface ParsedUpdate {
  readonly actions: readonly UpdateAction[];
  /** The first section keyword written twice: DynamoDB reports it only after other checks. */
  readonly duplicateSection: UpdateSection | undefined;
}
