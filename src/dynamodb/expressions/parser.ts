/**
 * A hand-written recursive-descent parser for DynamoDB's condition grammar, the one key
 * condition, condition and filter expressions share:
 *
 *   condition := or EOF
 *   or        := and { OR and }
 *   and       := not { AND not }
 *   not       := NOT not | primary
 *   primary   := '(' or ')' | operand comparator operand | operand BETWEEN operand AND operand
 *              | operand IN '(' operand { ',' operand } ')' | function
 *   operand   := '(' operand ')' | word '(' operand { ',' operand } ')' | :value | path
 *   path      := (word | #name) { '.' (word | #name) | '[' digits ']' }
 *
 * A '(' at the start of a primary may open a parenthesized condition or a parenthesized
 * operand (`(a) = :v`); the parser reads the group first and decides from what follows,
 * so it never backtracks. Only syntax is checked here; everything DynamoDB reports after a
 * successful parse (placeholders, reserved words, functions, types) is in check.ts.
 */
import type {
  Comparator,
  Condition,
  FunctionCall,
  Operand,
  ParsedCondition,
  ParsedUpdate,
  PathElement,
  PathOperand,
  Span,
  UpdateAction,
  UpdateSection,
  UpdateValue,
} from './ast.js';
import { ExpressionError } from './errors.js';
import { isKeyword, type Token, type TokenKind, tokenize } from './tokenizer.js';

/** Words that are grammar, never attribute or function names. */
const KEYWORDS: ReadonlySet<string> = new Set(['AND', 'OR', 'NOT', 'BETWEEN', 'IN']);

/** Update expressions also reserve their section keywords (`SET a = set` is a syntax error). */
const UPDATE_SECTIONS: ReadonlySet<string> = new Set<UpdateSection>(['SET', 'REMOVE', 'ADD', 'DELETE']);
const UPDATE_KEYWORDS: ReadonlySet<string> = new Set([...KEYWORDS, ...UPDATE_SECTIONS]);

const COMPARATORS: ReadonlySet<TokenKind> = new Set<TokenKind>(['=', '<>', '<', '<=', '>', '>=']);

/**
 * Guards the recursion. Within DynamoDB's 4 KB expression limit, only redundant parentheses
 * can nest this deep (meaningful nesting, `size(size(...))`, stops at the 300-operator limit).
 */
const MAX_DEPTH = 1024;

/**
 * DynamoDB's limits on one expression: operators and functions (AND, OR, NOT, comparators,
 * BETWEEN, IN, function calls, `+`/`-`), document path levels (names and indexes) and the
 * largest list index. Messages after DynamoDB Local's DbValidationError texts in DynamoDB's
 * `detail; name: value` form; the index bound as recorded against real DynamoDB (floci's
 * ProjectionEvaluator), the path level as in ScyllaDB's test_projection_expression.py.
 */
const MAX_OPERATORS = 300;
const MAX_PATH_LEVELS = 32;
const MAX_LIST_INDEX = 4_294_967_294;

/** A parenthesized group may hold a condition or (before a comparator) an operand. */
type Group =
  | { readonly kind: 'condition'; readonly condition: Condition }
  | { readonly kind: 'operand'; readonly operand: Operand };

interface Parsed<T> {
  readonly node: T;
  /** The node is exactly `( ... )`, so wrapping it in parentheses again is redundant. */
  readonly wrapped: boolean;
}

export class Parser {
  readonly #text: string;
  readonly #tokens: Token[];
  #pos = 0;
  #depth = 0;
  #redundantParentheses = false;
  #operators = 0;
  #keywords: ReadonlySet<string> = KEYWORDS;

  constructor(text: string) {
    this.#text = text;
    this.#tokens = tokenize(text);
  }

  /**
   * Parses the whole text as an update expression:
   *
   *   update  := section { section } EOF
   *   section := SET path '=' value { ',' path '=' value } | REMOVE path { ',' path }
   *            | (ADD | DELETE) path :value { ',' path :value }
   *   value   := term [ ('+' | '-') term ]
   *   term    := '(' value ')' | operand
   */
  parseUpdate(): ParsedUpdate {
    this.#keywords = UPDATE_KEYWORDS;
    const actions: UpdateAction[] = [];
    const seen = new Set<UpdateSection>();
    let duplicateSection: UpdateSection | undefined;
    do {
      const keyword = this.#peek();
      const section = keyword.text.toUpperCase() as UpdateSection;
      if (keyword.kind !== 'word' || !UPDATE_SECTIONS.has(section)) throw this.syntaxError();
      this.#advance();
      if (seen.has(section)) duplicateSection ??= section;
      seen.add(section);
      for (;;) {
        actions.push(this.#updateAction(section));
        if (this.#peek().kind !== ',') break;
        this.#advance();
      }
    } while (this.#peek().kind !== 'eof');
    return { actions, duplicateSection };
  }

  #updateAction(section: UpdateSection): UpdateAction {
    const path = this.#path();
    switch (section) {
      case 'SET':
        this.#expect('=');
        return { section, path, value: this.#updateValue() };
      case 'REMOVE':
        return { section, path };
      case 'ADD':
      case 'DELETE': {
        const token = this.#expect('value');
        return { section, path, value: { kind: 'value', placeholder: token.text, span: spanOf(token) } };
      }
    }
  }

  #updateValue(): UpdateValue {
    const left = this.#updateTerm();
    const operator = this.#peek();
    if (operator.kind !== '+' && operator.kind !== '-') return left;
    this.#advance();
    this.#countOperator();
    const right = this.#updateTerm();
    return {
      kind: 'arithmetic',
      operator: operator.kind,
      left,
      right,
      span: { start: left.span.start, end: right.span.end },
    };
  }

  #updateTerm(): UpdateValue {
    if (this.#peek().kind !== '(') return this.#operand().node;
    this.#advance();
    this.#enter();
    const inner = this.#updateValue();
    this.#expect(')');
    this.#depth--;
    return inner;
  }

  /** Parses the whole text as a condition. Throws ExpressionError for syntax errors. */
  parseCondition(): ParsedCondition {
    const group = this.#or(false);
    this.#expect('eof');
    if (group.node.kind !== 'condition') throw this.syntaxError();
    return { condition: group.node.condition, redundantParentheses: this.#redundantParentheses };
  }

  /** Parses the whole text as a comma-separated list of paths (ProjectionExpression). */
  parsePaths(): { readonly paths: readonly PathOperand[]; readonly redundantParentheses: boolean } {
    const paths = [this.#path()];
    while (this.#peek().kind === ',') {
      this.#advance();
      paths.push(this.#path());
    }
    this.#expect('eof');
    return { paths, redundantParentheses: this.#redundantParentheses };
  }

  /** DynamoDB's syntax error: the offending token and the text from the token before it to the one after. */
  syntaxError(at = this.#pos): ExpressionError {
    const token = this.#tokens[at] as Token;
    const previous = at > 0 ? (this.#tokens[at - 1] as Token) : token;
    const next = this.#tokens[at + 1];
    const end = next && next.kind !== 'eof' ? next.end : token.end;
    const shown = token.kind === 'eof' ? '<EOF>' : token.text;
    return new ExpressionError(`Syntax error; token: "${shown}", near: "${this.#text.slice(previous.start, end)}"`);
  }

  // -------------------------------------------------------------------------------------------
  // Conditions

  /** `bare`: inside parentheses, where the group may turn out to be an operand. */
  #or(bare: boolean): Parsed<Group> {
    const first = this.#and(bare);
    if (first.node.kind === 'operand' || !isKeyword(this.#peek(), 'OR')) return first;
    let left = first.node.condition;
    while (isKeyword(this.#peek(), 'OR')) {
      this.#advance();
      this.#countOperator();
      left = { kind: 'or', left, right: this.#conditionOf(this.#and(false)) };
    }
    return { node: { kind: 'condition', condition: left }, wrapped: false };
  }

  #and(bare: boolean): Parsed<Group> {
    const first = this.#not(bare);
    if (first.node.kind === 'operand' || !isKeyword(this.#peek(), 'AND')) return first;
    let left = first.node.condition;
    while (isKeyword(this.#peek(), 'AND')) {
      this.#advance();
      this.#countOperator();
      left = { kind: 'and', left, right: this.#conditionOf(this.#not(false)) };
    }
    return { node: { kind: 'condition', condition: left }, wrapped: false };
  }

  #not(bare: boolean): Parsed<Group> {
    if (!isKeyword(this.#peek(), 'NOT')) return this.#primary(bare);
    this.#advance();
    this.#countOperator();
    const operand = this.#conditionOf(this.#not(false));
    return { node: { kind: 'condition', condition: { kind: 'not', operand } }, wrapped: false };
  }

  #conditionOf(parsed: Parsed<Group>): Condition {
    // Only reachable with bare=false, where #primary never yields an operand.
    if (parsed.node.kind !== 'condition') throw this.syntaxError();
    return parsed.node.condition;
  }

  #primary(bare: boolean): Parsed<Group> {
    if (this.#peek().kind === '(') {
      this.#advance();
      this.#enter();
      const inner = this.#or(true);
      this.#expect(')');
      this.#depth--;
      if (inner.wrapped) this.#redundantParentheses = true;
      if (inner.node.kind === 'condition') return { node: inner.node, wrapped: true };
      return this.#afterOperand({ node: inner.node.operand, wrapped: true }, bare);
    }
    return this.#afterOperand(this.#operand(), bare);
  }

  /** What follows a condition's first operand decides which condition it is. */
  #afterOperand(subject: Parsed<Operand>, bare: boolean): Parsed<Group> {
    const token = this.#peek();
    const condition = (c: Condition): Parsed<Group> => ({ node: { kind: 'condition', condition: c }, wrapped: false });
    if (COMPARATORS.has(token.kind)) {
      this.#advance();
      this.#countOperator();
      const right = this.#operand().node;
      return condition({ kind: 'compare', comparator: token.kind as Comparator, left: subject.node, right });
    }
    if (isKeyword(token, 'BETWEEN')) {
      this.#advance();
      this.#countOperator();
      const lower = this.#operand().node;
      if (!isKeyword(this.#peek(), 'AND')) throw this.syntaxError();
      this.#advance();
      const upper = this.#operand().node;
      return condition({ kind: 'between', subject: subject.node, lower, upper });
    }
    if (isKeyword(token, 'IN')) {
      this.#advance();
      this.#countOperator();
      this.#expect('(');
      const candidates = this.#operandList();
      this.#expect(')');
      return condition({ kind: 'in', subject: subject.node, candidates });
    }
    // A lone operand inside parentheses may still be compared once they close: `(a) = :v`.
    if (bare && token.kind === ')')
      return { node: { kind: 'operand', operand: subject.node }, wrapped: subject.wrapped };
    if (subject.node.kind === 'call') return condition({ kind: 'function', call: subject.node });
    throw this.syntaxError();
  }

  // -------------------------------------------------------------------------------------------
  // Operands

  #operand(): Parsed<Operand> {
    const token = this.#peek();
    if (token.kind === '(') {
      this.#advance();
      this.#enter();
      const inner = this.#operand();
      this.#expect(')');
      this.#depth--;
      if (inner.wrapped) this.#redundantParentheses = true;
      return { node: inner.node, wrapped: true };
    }
    if (token.kind === 'value') {
      this.#advance();
      return { node: { kind: 'value', placeholder: token.text, span: spanOf(token) }, wrapped: false };
    }
    if (token.kind === 'word' && this.#peek(1).kind === '(' && !this.#keywords.has(token.text.toUpperCase())) {
      return { node: this.#call(), wrapped: false };
    }
    return { node: this.#path(), wrapped: false };
  }

  #call(): FunctionCall {
    const name = this.#advance();
    this.#countOperator();
    this.#expect('(');
    this.#enter();
    const args = this.#operandList();
    const close = this.#expect(')');
    this.#depth--;
    return { kind: 'call', name: name.text, args, span: { start: name.start, end: close.end } };
  }

  #operandList(): Operand[] {
    const operands = [this.#operand().node];
    while (this.#peek().kind === ',') {
      this.#advance();
      operands.push(this.#operand().node);
    }
    return operands;
  }

  #path(): PathOperand {
    const elements: PathElement[] = [this.#pathName()];
    for (;;) {
      const token = this.#peek();
      if (token.kind === '.') {
        this.#advance();
        elements.push(this.#pathName());
      } else if (token.kind === '[') {
        this.#advance();
        const digits = this.#expect('number');
        const close = this.#expect(']');
        const index = Number(digits.text);
        if (index > MAX_LIST_INDEX) {
          throw new ExpressionError(`List index is not within the allowable range; index: [${digits.text}]`);
        }
        elements.push({ kind: 'index', index, span: { start: token.start, end: close.end } });
      } else {
        break;
      }
    }
    if (elements.length > MAX_PATH_LEVELS) {
      throw new ExpressionError(`The document path has too many nesting levels; nesting levels: ${elements.length}`);
    }
    const first = elements[0] as PathElement;
    const last = elements[elements.length - 1] as PathElement;
    return { kind: 'path', elements, span: { start: first.span.start, end: last.span.end } };
  }

  #pathName(): PathElement {
    const token = this.#peek();
    if (token.kind === 'name') {
      this.#advance();
      return { kind: 'placeholder', text: token.text, span: spanOf(token) };
    }
    // Attribute names start with a letter; `_x` is a function-name shape only.
    if (token.kind === 'word' && /^[A-Za-z]/.test(token.text) && !this.#keywords.has(token.text.toUpperCase())) {
      this.#advance();
      return { kind: 'attribute', text: token.text, span: spanOf(token) };
    }
    throw this.syntaxError();
  }

  // -------------------------------------------------------------------------------------------
  // Tokens

  #peek(ahead = 0): Token {
    return this.#tokens[Math.min(this.#pos + ahead, this.#tokens.length - 1)] as Token;
  }

  #advance(): Token {
    const token = this.#peek();
    if (this.#pos < this.#tokens.length - 1) this.#pos++;
    return token;
  }

  #expect(kind: TokenKind): Token {
    if (this.#peek().kind !== kind) throw this.syntaxError();
    return this.#advance();
  }

  #countOperator(): void {
    if (++this.#operators > MAX_OPERATORS) {
      throw new ExpressionError(`The expression contains too many operators; operator count: ${this.#operators}`);
    }
  }

  #enter(): void {
    if (++this.#depth > MAX_DEPTH) throw new ExpressionError('The expression has redundant parentheses;');
  }
}

const spanOf = (token: Token): Span => ({ start: token.start, end: token.end });
