/** ProjectionExpression: a list of document paths, checked as DynamoDB does. */
import type { DocumentPath } from '../document.js';
import type { ExpressionAttributes } from './attributes.js';
import { checkExpressionText, ExpressionError, expressionError } from './errors.js';
import { Parser } from './parser.js';
import { isReservedWord } from './reserved-words.js';
import { checkPaths } from './update.js';

const KIND = 'ProjectionExpression';

/** Parses and checks a ProjectionExpression, resolving (and so marking used) its name placeholders. */
export function parseProjectionExpression(text: string, attributes: ExpressionAttributes): DocumentPath[] {
  checkExpressionText(KIND, text);
  try {
    const parsed = new Parser(text).parsePaths();
    for (const path of parsed.paths) {
      for (const element of path.elements) {
        if (element.kind === 'attribute' && isReservedWord(element.text)) {
          throw new ExpressionError(`Attribute name is a reserved keyword; reserved keyword: ${element.text}`);
        }
      }
    }
    const resolved = parsed.paths.map((path) =>
      path.elements.map((element) => {
        if (element.kind === 'index') return element.index;
        if (element.kind === 'attribute') return element.text;
        const name = attributes.name(element.text);
        if (name === undefined) {
          throw new ExpressionError(
            `An expression attribute name used in the document path is not defined; attribute name: ${element.text}`,
          );
        }
        return name;
      }),
    );
    const problem = checkPaths(resolved);
    if (problem) throw new ExpressionError(problem);
    return resolved;
  } catch (error) {
    if (error instanceof ExpressionError) throw expressionError(KIND, error.detail);
    throw error;
  }
}
