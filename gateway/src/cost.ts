/**
 * Demand control: what an operation costs, refused above a maximum before any subgraph is
 * called, and what it really cost charged to its organization's budget (issue 16).
 *
 * The model follows IBM's GraphQL cost specification as Apollo's demand control applies it:
 *
 *   - A field returning an object, interface or union costs 1; a scalar or enum field 0; a
 *     root mutation field 10. `@cost(weight:)` on the field, else on its returned type (object,
 *     scalar, enum), replaces that weight; `@cost` on an argument or input field adds its weight
 *     when the client gives that value.
 *   - A list field costs `size × (its weight + its selection's cost)`. The size is:
 *       `@listSize(slicingArguments:)`: the value of the slicing argument (literal or variable;
 *         the largest when several are given), else its default in the schema, else
 *         `assumedSize`, else DEFAULT_LIST_SIZE (the platform's default page, 20);
 *       `@listSize(sizedFields:)`: the size applies to those child fields instead (a connection:
 *         the list is inside the returned object);
 *       Relay connections need no directive: a field returning an object type named `*Connection`
 *         with `first`/`last` arguments is read as `@listSize(slicingArguments: ["first", "last"],
 *         sizedFields: ["edges", "nodes"], requireOneSlicingArgument: false)`, so `totalCount`
 *         and `pageInfo` are counted once and `edges`/`nodes` `first` times;
 *       a list looked up by a list of ids (`nodes(ids:)`): the number of ids;
 *       any other list: `@listSize(assumedSize:)`, else DEFAULT_ASSUMED_SIZE (10).
 *     A list of lists counts as one list (only scalar lists are nested in this graph: cost 0).
 *   - A fragment (named or inline) counts once per spread (named ones computed once per type
 *     they are spread on: the walk stays linear in the document). On an interface or union the
 *     cost is the most expensive possible type's. `@skip`/`@include` are honoured. `__typename`
 *     and introspection (`__schema`, `__type`) cost 0: limits.ts bounds their depth.
 *
 * `estimate` prices an operation before it runs from its arguments and variables; `actual`
 * prices the same selections against the data that came back (a list costs its items, a null
 * value the field's weight and nothing below it). `costPlugin` puts both into Apollo Server:
 *
 *   plugins: [costPlugin(CostModel.fromSupergraph(sdl), {
 *     maxCost: DEFAULT_MAX_COST,
 *     check: async (ctx, estimated) => { ... throw RATE_LIMITED when the budget is spent ... },
 *     charge: async (ctx, actual) => ({ remaining }),
 *   })]
 *
 * Refused operations answer COST_LIMIT_EXCEEDED (HTTP 400) without executing; every single
 * result carries `extensions.cost = { estimated, actual, maximum, budgetRemaining? }`.
 * The directives live in the subgraph SDLs (`@link(url: "https://specs.apollo.dev/cost/v0.1",
 * import: ["@cost", "@listSize"])`) and composition carries them into the supergraph, whose
 * @link says what they are called there (`@cost`, `@cost__listSize`).
 */
import {
  GraphQLError,
  Kind,
  buildASTSchema,
  getNamedType,
  getNullableType,
  isAbstractType,
  isCompositeType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  parse,
  valueFromAST,
  valueFromASTUntyped,
  type ConstDirectiveNode,
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { HeaderMap, type ApolloServerPlugin, type BaseContext, type GraphQLRequestListener } from '@apollo/server';
import { DEFAULT_PAGE } from '@lectern/kernel/pagination';

/** Size of a sliced list (a connection page) when the operation does not say: the platform's default page. */
export const DEFAULT_LIST_SIZE = DEFAULT_PAGE;
/**
 * Size assumed for a plain list without `@listSize` (a course's modules, a payload's errors):
 * most such lists in this graph hold a handful of items; the subgraph SDLs say so where more.
 */
export const DEFAULT_ASSUMED_SIZE = 10;
/** Weight of a root mutation field: a write, a transaction and its events. */
export const MUTATION_WEIGHT = 10;
/**
 * A maximum every operation the repository's clients send passes (the heaviest, e2e's
 * CourseOfferings: 10 offerings × 10 cohorts × 100 enrollments with their learner and progress,
 * is ~30,000), while connections nested three deep at full pages (100 courses × 100 offerings ×
 * 100 cohorts: ~1,000,000) are refused. The organization's budget is what meters the rest.
 */
export const DEFAULT_MAX_COST = 50_000;
export const COST_LIMIT_EXCEEDED = 'COST_LIMIT_EXCEEDED';

interface ListSize {
  slicingArguments: readonly string[];
  sizedFields: ReadonlySet<string>;
  assumedSize: number | undefined;
  requireOneSlicingArgument: boolean;
}

interface ArgCost {
  type: GraphQLInputType;
  weight: number;
}

/** What the model knows about one field: computed once per schema coordinate. */
interface FieldCost {
  weight: number;
  list: boolean;
  listSize: ListSize | undefined;
  /** A list looked up by ids: the argument whose length is the list's size. */
  idListArgument: string | undefined;
  /** Schema default of each slicing argument that has one. */
  slicingDefaults: ReadonlyMap<string, number>;
  /** Arguments whose value costs something (their own @cost, or input fields with one). */
  costedArguments: ReadonlyMap<string, ArgCost>;
}

/** The list size a field gets when an operation gives no arguments (for tests and tools). */
export interface ListSizeDescription {
  /** `list`: the field itself is multiplied; `sized-fields`: these child fields are. */
  kind: 'list' | 'sized-fields' | 'none';
  size: number;
  sizedFields: string[];
}

/** An operation of a document: its name, null/undefined for the only one, or its node (Apollo resolved it). */
export type OperationRef = string | null | undefined | OperationDefinitionNode;
type Sized = { fields: ReadonlySet<string>; size: number } | undefined;
type Vars = Record<string, unknown>;

const SPEC_URL = /^https:\/\/specs\.apollo\.dev\/(cost|federation)\/v\d+\.\d+$/;

/** What `@cost` and `@listSize` are called in this SDL: read from its @link (link spec naming rules). */
function directiveNames(doc: DocumentNode): { cost: string; listSize: string } {
  let names: { cost: string; listSize: string } | undefined;
  for (const def of doc.definitions) {
    if (def.kind !== Kind.SCHEMA_DEFINITION && def.kind !== Kind.SCHEMA_EXTENSION) continue;
    for (const link of def.directives ?? []) {
      if (link.name.value !== 'link') continue;
      const args = Object.fromEntries((link.arguments ?? []).map((a) => [a.name.value, valueFromASTUntyped(a.value)])) as Record<string, unknown>;
      const match = typeof args.url === 'string' ? SPEC_URL.exec(args.url) : null;
      if (!match) continue;
      const spec = match[1] as string;
      const namespace = typeof args.as === 'string' ? args.as : spec;
      const imports = new Map<string, string>();
      for (const entry of Array.isArray(args.import) ? args.import : []) {
        if (typeof entry === 'string') imports.set(entry, entry);
        else if (entry && typeof entry === 'object' && typeof (entry as { name?: unknown }).name === 'string') {
          const { name, as } = entry as { name: string; as?: unknown };
          imports.set(name, typeof as === 'string' ? as : name);
        }
      }
      // Not imported: the spec's namesake directive is `@<namespace>`, the others `@<namespace>__<name>`.
      const resolve = (d: string) => (imports.get(`@${d}`) ?? (d === spec ? `@${namespace}` : `@${namespace}__${d}`)).slice(1);
      // The cost spec's own link wins over the federation one (a supergraph has only the former).
      if (!names || spec === 'cost') names = { cost: resolve('cost'), listSize: resolve('listSize') };
    }
  }
  return names ?? { cost: 'cost', listSize: 'listSize' };
}

const directiveArgs = (d: ConstDirectiveNode | DirectiveNode): Record<string, unknown> =>
  Object.fromEntries((d.arguments ?? []).map((a) => [a.name.value, valueFromASTUntyped(a.value)]));

function costError(message: string, code: string, extensions: Record<string, unknown> = {}): GraphQLError {
  // `http` sets the answer's status; Apollo removes it from the error the client sees.
  return new GraphQLError(message, { extensions: { code, ...extensions, http: { status: 400 } } });
}

export class CostModel {
  readonly schema: GraphQLSchema;
  /** The SDL the model was built from (the plugin rebuilds it when the gateway's supergraph changes). */
  readonly sdl: string;
  readonly #names: { cost: string; listSize: string };
  readonly #fields = new Map<string, FieldCost>();
  readonly #inputCosts = new Map<string, boolean>();

  private constructor(sdl: string, doc: DocumentNode) {
    this.sdl = sdl;
    this.#names = directiveNames(doc);
    this.schema = buildASTSchema(doc, { assumeValidSDL: true });
  }

  /** The model of a composed supergraph (or of any SDL declaring `@cost`/`@listSize`). */
  static fromSupergraph(sdl: string): CostModel {
    return new CostModel(sdl, parse(sdl, { noLocation: true }));
  }

  /** The estimated cost of `operationName` (or the document's only operation; or that operation node) with these variables. */
  estimate(document: DocumentNode, operationName: OperationRef, variables: Vars = {}): number {
    const op = operationOf(document, operationName);
    return new Walk(this, document, op, variables, false).run(undefined);
  }

  /** The cost of the same selections counted on `data`, what the operation returned. */
  actual(document: DocumentNode, operationName: OperationRef, variables: Vars, data: unknown): number {
    const op = operationOf(document, operationName);
    if (!isRecord(data)) return 0;
    return new Walk(this, document, op, variables, true).run(data);
  }

  /** How a list or connection field is sized when an operation gives it no arguments. */
  describeListSize(typeName: string, fieldName: string): ListSizeDescription {
    const parent = this.schema.getType(typeName);
    if (!parent || !(isObjectType(parent) || isInterfaceType(parent))) throw new Error(`${typeName} is not an object or interface type`);
    const info = this.field(parent, fieldName);
    if (!info) throw new Error(`${typeName}.${fieldName} does not exist`);
    const ls = info.listSize;
    if (ls) {
      const size = this.sliceSize(ls, info, undefined, {});
      return ls.sizedFields.size > 0 ? { kind: 'sized-fields', size, sizedFields: [...ls.sizedFields] } : { kind: 'list', size, sizedFields: [] };
    }
    if (info.list) return { kind: 'list', size: DEFAULT_ASSUMED_SIZE, sizedFields: [] };
    return { kind: 'none', size: 1, sizedFields: [] };
  }

  /** The weight of one field (tests and tools). */
  weightOf(typeName: string, fieldName: string): number {
    const parent = this.schema.getType(typeName);
    if (!parent || !(isObjectType(parent) || isInterfaceType(parent))) throw new Error(`${typeName} is not an object or interface type`);
    const info = this.field(parent, fieldName);
    if (!info) throw new Error(`${typeName}.${fieldName} does not exist`);
    return info.weight;
  }

  /** @internal The cost facts of `parent.name` (memoised); undefined for a field that does not exist. */
  field(parent: GraphQLCompositeType, name: string): FieldCost | undefined {
    const key = `${parent.name}.${name}`;
    let info = this.#fields.get(key);
    if (info) return info;
    if (!(isObjectType(parent) || isInterfaceType(parent))) return undefined;
    const def = parent.getFields()[name];
    if (!def) return undefined;
    info = this.#describe(parent, def);
    if (isInterfaceType(parent)) {
      // @cost is not allowed on interface fields: an interface's field costs what its most expensive implementation's does.
      for (const impl of this.schema.getPossibleTypes(parent)) {
        const own = impl.getFields()[name];
        if (!own) continue;
        const implInfo = this.#describe(impl, own);
        info = { ...info, weight: Math.max(info.weight, implInfo.weight), listSize: info.listSize ?? implInfo.listSize };
      }
    }
    this.#fields.set(key, info);
    return info;
  }

  #directive(node: { directives?: readonly ConstDirectiveNode[] | undefined } | null | undefined, name: string): Record<string, unknown> | undefined {
    const d = node?.directives?.find((x) => x.name.value === name);
    return d ? directiveArgs(d) : undefined;
  }

  #typeWeight(type: GraphQLNamedType): number | undefined {
    const nodes = [type.astNode, ...(type.extensionASTNodes ?? [])];
    for (const n of nodes) {
      const w = this.#directive(n as { directives?: readonly ConstDirectiveNode[] }, this.#names.cost)?.weight;
      if (typeof w === 'number') return w;
    }
    return undefined;
  }

  #describe(parent: GraphQLObjectType | GraphQLCompositeType, def: GraphQLField<unknown, unknown>): FieldCost {
    const named = getNamedType(def.type);
    const own = this.#directive(def.astNode, this.#names.cost)?.weight;
    let weight: number;
    if (typeof own === 'number') weight = own;
    else if (parent === this.schema.getMutationType()) weight = MUTATION_WEIGHT;
    else if (isAbstractType(named)) {
      weight = Math.max(1, ...this.schema.getPossibleTypes(named).map((t) => this.#typeWeight(t) ?? 1));
    } else weight = this.#typeWeight(named) ?? (isLeafType(named) ? 0 : 1);

    const list = isListType(getNullableType(def.type));
    let listSize: ListSize | undefined;
    const explicit = this.#directive(def.astNode, this.#names.listSize);
    if (explicit) {
      listSize = {
        slicingArguments: Array.isArray(explicit.slicingArguments) ? (explicit.slicingArguments as string[]) : [],
        sizedFields: new Set(Array.isArray(explicit.sizedFields) ? (explicit.sizedFields as string[]) : []),
        assumedSize: typeof explicit.assumedSize === 'number' ? explicit.assumedSize : undefined,
        requireOneSlicingArgument: explicit.requireOneSlicingArgument !== false,
      };
    } else if (!list && isObjectType(named) && named.name.endsWith('Connection')) {
      const slicing = def.args.filter((a) => (a.name === 'first' || a.name === 'last') && getNamedType(a.type).name === 'Int').map((a) => a.name);
      const sized = Object.values(named.getFields()).filter((f) => (f.name === 'edges' || f.name === 'nodes') && isListType(getNullableType(f.type)));
      if (slicing.length > 0 && sized.length > 0) {
        listSize = { slicingArguments: slicing, sizedFields: new Set(sized.map((f) => f.name)), assumedSize: undefined, requireOneSlicingArgument: false };
      }
    }

    let idListArgument: string | undefined;
    if (list && !listSize) {
      idListArgument = def.args.find((a) => {
        const t = getNullableType(a.type);
        return isListType(t) && getNamedType(t).name === 'ID';
      })?.name;
    }

    const slicingDefaults = new Map<string, number>();
    for (const name of listSize?.slicingArguments ?? []) {
      const d = def.args.find((a) => a.name === name)?.defaultValue;
      if (typeof d === 'number') slicingDefaults.set(name, d);
    }

    const costedArguments = new Map<string, ArgCost>();
    for (const arg of def.args) {
      const w = this.#directive(arg.astNode, this.#names.cost)?.weight;
      const weight = typeof w === 'number' ? w : 0;
      if (weight > 0 || this.#inputHasCost(arg.type)) costedArguments.set(arg.name, { type: arg.type, weight });
    }
    return { weight, list, listSize, idListArgument, slicingDefaults, costedArguments };
  }

  /** Whether a value of this input type can cost anything (an input field with @cost somewhere inside). */
  #inputHasCost(type: GraphQLInputType): boolean {
    const named = getNamedType(type);
    if (!isInputObjectType(named)) return false;
    const known = this.#inputCosts.get(named.name);
    if (known !== undefined) return known;
    this.#inputCosts.set(named.name, false); // a recursive input type: the cycle adds nothing
    const costs = Object.values(named.getFields()).some(
      (f) => typeof this.#directive(f.astNode, this.#names.cost)?.weight === 'number' || this.#inputHasCost(f.type),
    );
    this.#inputCosts.set(named.name, costs);
    return costs;
  }

  /** @internal What the given values of a field's costed arguments add. */
  argumentsCost(info: FieldCost, node: FieldNode, vars: Vars): number {
    if (info.costedArguments.size === 0) return 0;
    let total = 0;
    for (const arg of node.arguments ?? []) {
      const def = info.costedArguments.get(arg.name.value);
      if (!def) continue;
      const value = valueFromAST(arg.value, def.type, vars);
      if (value === undefined || value === null) continue;
      total += def.weight + this.#inputCost(def.type, value);
    }
    return total;
  }

  #inputCost(type: GraphQLInputType, value: unknown): number {
    if (value === null || value === undefined) return 0;
    const t = isNonNullType(type) ? type.ofType : type;
    if (isListType(t)) return Array.isArray(value) ? value.reduce((n: number, v) => n + this.#inputCost(t.ofType, v), 0) : this.#inputCost(t.ofType, value);
    if (!isInputObjectType(t) || !this.#inputHasCost(t) || !isRecord(value)) return 0;
    let total = 0;
    for (const f of Object.values(t.getFields())) {
      if (value[f.name] === undefined || value[f.name] === null) continue;
      const w = this.#directive(f.astNode, this.#names.cost)?.weight;
      total += (typeof w === 'number' ? w : 0) + this.#inputCost(f.type, value[f.name]);
    }
    return total;
  }

  /** @internal The size of a sliced list: the given slicing argument, else its default, else the assumed size. */
  sliceSize(ls: ListSize, info: FieldCost, node: FieldNode | undefined, vars: Vars): number {
    const given: number[] = [];
    for (const name of ls.slicingArguments) {
      const v = node ? argumentValue(node, name, vars) : undefined;
      if (typeof v === 'number') given.push(v);
    }
    if (ls.requireOneSlicingArgument && ls.slicingArguments.length > 0 && given.length !== 1 && node) {
      throw costError(
        `${node.name.value} needs exactly one of ${ls.slicingArguments.map((a) => `\`${a}\``).join(', ')} (its cost depends on it)`,
        'BAD_USER_INPUT',
      );
    }
    if (given.length > 0) return Math.max(...given.map(sizeOf));
    const defaults = [...info.slicingDefaults.values()];
    if (defaults.length > 0) return Math.max(...defaults.map(sizeOf));
    if (ls.assumedSize !== undefined) return sizeOf(ls.assumedSize);
    return ls.slicingArguments.length > 0 ? DEFAULT_LIST_SIZE : DEFAULT_ASSUMED_SIZE;
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const sizeOf = (n: number) => (Number.isFinite(n) ? Math.max(0, Math.ceil(n)) : Number.MAX_SAFE_INTEGER);

function operationOf(document: DocumentNode, name: OperationRef): OperationDefinitionNode {
  if (typeof name === 'object' && name !== null) return name;
  const ops = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const op = name ? ops.find((o) => o.name?.value === name) : ops.length === 1 ? ops[0] : undefined;
  if (!op) throw new Error(name ? `no operation named "${name}" in the document` : 'the document has several operations: name one');
  return op;
}

/** A variable's or literal's JS value (variables already carry their defaults). */
function resolveValue(value: ValueNode, vars: Vars): unknown {
  switch (value.kind) {
    case Kind.VARIABLE:
      return vars[value.name.value];
    case Kind.INT:
      return Number.parseInt(value.value, 10);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return value.values.map((v) => resolveValue(v, vars));
    default:
      return valueFromASTUntyped(value, vars);
  }
}

function argumentValue(node: FieldNode, name: string, vars: Vars): unknown {
  const arg = node.arguments?.find((a) => a.name.value === name);
  return arg ? resolveValue(arg.value, vars) : undefined;
}

/** @skip / @include with a literal or a variable condition. */
function included(node: { directives?: readonly DirectiveNode[] | undefined }, vars: Vars): boolean {
  for (const d of node.directives ?? []) {
    if (d.name.value !== 'skip' && d.name.value !== 'include') continue;
    const arg = d.arguments?.find((a) => a.name.value === 'if');
    const cond = arg ? resolveValue(arg.value, vars) === true : false;
    if (d.name.value === 'skip' ? cond : !cond) return false;
  }
  return true;
}

/** One pricing of one operation: an estimate (no data) or an actual cost (walking the data). */
class Walk {
  readonly #model: CostModel;
  readonly #schema: GraphQLSchema;
  readonly #op: OperationDefinitionNode;
  readonly #fragments = new Map<string, FragmentDefinitionNode>();
  readonly #vars: Vars;
  readonly #actual: boolean;
  /** Estimates of named fragments, by fragment, type spread on and sizing (never for actual costs: they depend on data). */
  readonly #memo = new Map<string, number>();
  readonly #inProgress = new Set<string>();

  constructor(model: CostModel, document: DocumentNode, op: OperationDefinitionNode, variables: Vars, actual: boolean) {
    this.#model = model;
    this.#schema = model.schema;
    this.#op = op;
    this.#actual = actual;
    for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) this.#fragments.set(d.name.value, d);
    const vars: Vars = {};
    for (const v of op.variableDefinitions ?? []) if (v.defaultValue) vars[v.variable.name.value] = valueFromASTUntyped(v.defaultValue);
    for (const [k, v] of Object.entries(variables ?? {})) if (v !== undefined) vars[k] = v;
    this.#vars = vars;
  }

  run(data: Record<string, unknown> | undefined): number {
    const root =
      this.#op.operation === 'mutation' ? this.#schema.getMutationType() : this.#op.operation === 'subscription' ? this.#schema.getSubscriptionType() : this.#schema.getQueryType();
    if (!root) return 0;
    const total = this.#set(this.#op.selectionSet, root, undefined, data);
    return Math.min(Math.round(total), Number.MAX_SAFE_INTEGER);
  }

  /** The cost of a selection set on `parent`: its fields, plus the fragments that apply (the dearest possible type's on an abstract parent). */
  #set(set: SelectionSetNode, parent: GraphQLCompositeType, sized: Sized, data: Record<string, unknown> | undefined): number {
    // On an abstract parent, the actual type is known when the client selected __typename.
    let concrete: GraphQLObjectType | undefined = isObjectType(parent) ? parent : undefined;
    if (!concrete && data) {
      for (const sel of set.selections) {
        if (sel.kind === Kind.FIELD && sel.name.value === '__typename') {
          const t = this.#schema.getType(String(data[sel.alias?.value ?? '__typename']));
          if (t && isObjectType(t)) concrete = t;
        }
      }
    }
    const here: GraphQLCompositeType = concrete ?? parent;
    let unconditional = 0;
    const conditional: { cond: GraphQLCompositeType; cost: number }[] = [];
    const addFragment = (cond: GraphQLCompositeType, cost: () => number) => {
      if (this.#covers(cond, here)) unconditional += cost();
      else if (this.#overlaps(cond, here)) conditional.push({ cond, cost: cost() });
    };
    for (const sel of set.selections) {
      if (!included(sel, this.#vars)) continue;
      switch (sel.kind) {
        case Kind.FIELD:
          unconditional += this.#field(sel, here, sized, data);
          break;
        case Kind.INLINE_FRAGMENT: {
          const cond = sel.typeCondition ? this.#compositeType(sel.typeCondition.name.value) : here;
          if (cond) addFragment(cond, () => this.#set(sel.selectionSet, narrow(here, cond), sized, data));
          break;
        }
        case Kind.FRAGMENT_SPREAD: {
          const def = this.#fragments.get(sel.name.value);
          const cond = def && this.#compositeType(def.typeCondition.name.value);
          if (def && cond) addFragment(cond, () => this.#spread(def, narrow(here, cond), sized, data));
          break;
        }
      }
    }
    if (conditional.length === 0) return unconditional;
    // Abstract parent, type not known: the most expensive possible type's fragments.
    let dearest = 0;
    for (const t of isAbstractType(here) ? this.#schema.getPossibleTypes(here) : []) {
      let sum = 0;
      for (const c of conditional) if (this.#covers(c.cond, t)) sum += c.cost;
      if (sum > dearest) dearest = sum;
    }
    return unconditional + dearest;
  }

  #spread(def: FragmentDefinitionNode, on: GraphQLCompositeType, sized: Sized, data: Record<string, unknown> | undefined): number {
    const name = def.name.value;
    if (this.#inProgress.has(name)) return 0; // a cycle: validation refuses it
    const key = `${name}\0${on.name}\0${sized ? `${sized.size}:${[...sized.fields].join(',')}` : ''}`;
    if (!this.#actual) {
      const known = this.#memo.get(key);
      if (known !== undefined) return known;
    }
    this.#inProgress.add(name);
    const cost = this.#set(def.selectionSet, on, sized, data);
    this.#inProgress.delete(name);
    if (!this.#actual) this.#memo.set(key, cost);
    return cost;
  }

  #field(node: FieldNode, parent: GraphQLCompositeType, sized: Sized, data: Record<string, unknown> | undefined): number {
    const name = node.name.value;
    if (name === '__typename' || name === '__schema' || name === '__type') return 0;
    const info = this.#model.field(parent, name);
    if (!info) return 0; // not in the schema: validation refuses it
    const def = (parent as GraphQLObjectType).getFields()[name]!;
    const named = getNamedType(def.type);
    const argCost = this.#model.argumentsCost(info, node, this.#vars);

    if (data) {
      const value = data[node.alias?.value ?? name];
      if (value === undefined) return 0; // not resolved (skipped, or an error above it)
      return argCost + this.#valueCost(node, info, named, value);
    }

    let size = 1;
    let childSized: Sized;
    if (sized?.fields.has(name)) size = sized.size;
    else if (info.listSize) {
      const n = this.#model.sliceSize(info.listSize, info, node, this.#vars);
      if (info.listSize.sizedFields.size > 0) childSized = { fields: info.listSize.sizedFields, size: n };
      else size = n;
    } else if (info.list) {
      const ids = info.idListArgument ? argumentValue(node, info.idListArgument, this.#vars) : undefined;
      size = Array.isArray(ids) ? ids.length : ids !== undefined && ids !== null ? 1 : DEFAULT_ASSUMED_SIZE;
    }
    const children = node.selectionSet && isCompositeType(named) ? this.#set(node.selectionSet, named, childSized, undefined) : 0;
    return argCost + size * (info.weight + children);
  }

  /** Actual cost of one returned value: a list its items', an object its weight and selection's, null its weight. */
  #valueCost(node: FieldNode, info: FieldCost, named: GraphQLNamedType, value: unknown): number {
    if (value === null) return info.weight;
    if (Array.isArray(value)) {
      let total = 0;
      for (const item of value) total += this.#valueCost(node, info, named, item);
      return total;
    }
    if (node.selectionSet && isCompositeType(named) && isRecord(value)) return info.weight + this.#set(node.selectionSet, named, undefined, value);
    return info.weight;
  }

  #compositeType(name: string): GraphQLCompositeType | undefined {
    const t = this.#schema.getType(name);
    return t && isCompositeType(t) ? t : undefined;
  }

  /** Every object of type `t` matches type condition `cond`. */
  #covers(cond: GraphQLCompositeType, t: GraphQLCompositeType): boolean {
    if (cond === t) return true;
    if (!isAbstractType(cond)) return false;
    if (isObjectType(t)) return this.#schema.isSubType(cond, t);
    return this.#schema.getPossibleTypes(t).every((p) => this.#schema.isSubType(cond, p));
  }

  /** Some object of type `t` may match type condition `cond`. */
  #overlaps(cond: GraphQLCompositeType, t: GraphQLCompositeType): boolean {
    const of = (x: GraphQLCompositeType) => (isAbstractType(x) ? this.#schema.getPossibleTypes(x) : [x]);
    const inCond = new Set(of(cond));
    return of(t).some((p) => inCond.has(p));
  }
}

/** The type a fragment's fields are looked up on: the narrower of where it is spread and its condition. */
function narrow(parent: GraphQLCompositeType, cond: GraphQLCompositeType): GraphQLCompositeType {
  if (isObjectType(cond)) return cond;
  if (isObjectType(parent)) return parent;
  return cond;
}

/** What `extensions.cost` of a response holds. */
export interface CostExtension {
  estimated: number;
  actual?: number;
  maximum: number;
  budgetRemaining?: number;
}

export interface CostPluginOptions<TContext extends BaseContext> {
  /** The most an operation may be estimated to cost (per caller when a function, e.g. by plan). */
  maxCost: number | ((ctx: TContext) => number);
  /**
   * Runs once an operation is within the maximum, before it executes: throw (a GraphQLError with
   * code RATE_LIMITED and `retryAfterSeconds`) to refuse it, e.g. when the organization's budget is spent.
   */
  check?: (ctx: TContext, estimated: number) => Promise<void>;
  /** Runs after an operation executed, with what it cost; what it answers is reported as `budgetRemaining`. */
  charge?: (ctx: TContext, actualCost: number) => Promise<{ remaining?: number } | void>;
}

/**
 * Apollo Server plugin: estimates each operation once it is resolved and refuses it above the
 * maximum (COST_LIMIT_EXCEEDED, nothing executes); then asks `check`; after execution charges the
 * actual cost and reports both in `extensions.cost`. Follows the gateway's supergraph when it changes.
 */
export function costPlugin<TContext extends BaseContext>(model: CostModel, opts: CostPluginOptions<TContext>): ApolloServerPlugin<TContext> {
  let current = model;
  return {
    async serverWillStart() {
      return {
        schemaDidLoadOrUpdate({ coreSupergraphSdl }) {
          if (coreSupergraphSdl && coreSupergraphSdl !== current.sdl) current = CostModel.fromSupergraph(coreSupergraphSdl);
        },
      };
    },
    async requestDidStart(): Promise<GraphQLRequestListener<TContext>> {
      const m = current;
      let cost: CostExtension | undefined;
      let executes = false;
      return {
        async didResolveOperation({ document, operation, request, contextValue }) {
          const estimated = m.estimate(document, operation, request.variables ?? {});
          const maximum = typeof opts.maxCost === 'function' ? opts.maxCost(contextValue) : opts.maxCost;
          cost = { estimated, maximum };
          if (estimated > maximum) {
            throw costError(
              `This operation's estimated cost is ${estimated}, above the maximum of ${maximum}: ask for smaller pages (a lower \`first\` or \`last\`, ` +
                'above all on nested connections, whose sizes multiply) or select fewer list fields, or split it into several operations.',
              COST_LIMIT_EXCEEDED,
              { cost: { estimated, maximum } },
            );
          }
          try {
            await opts.check?.(contextValue, estimated);
          } catch (err) {
            throw withHttpStatus(err);
          }
          executes = true;
        },
        async willSendResponse({ response, document, operation, request, contextValue, logger }) {
          if (!cost || response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          if (executes && document && operation) {
            cost.actual = m.actual(document, operation, request.variables ?? {}, result.data);
            try {
              const charged = await opts.charge?.(contextValue, cost.actual);
              if (charged && charged.remaining !== undefined) cost.budgetRemaining = charged.remaining;
            } catch (err) {
              // The answer is ready: a budget that cannot be charged (Redis down) must not lose it.
              logger.warn(`cost: the operation's cost could not be charged: ${(err as Error).message}`);
            }
          }
          result.extensions = { ...result.extensions, cost: { ...cost } };
        },
      };
    },
  };
}

/** A refusal from `check` keeps its code; RATE_LIMITED answers 429 with Retry-After. */
function withHttpStatus(err: unknown): unknown {
  // Duck-typed: graphql may be loaded twice (CJS and ESM builds), so instanceof is not reliable.
  const ext = (err as { extensions?: Record<string, unknown> } | null)?.extensions;
  if (!ext || ext.http || ext.code !== 'RATE_LIMITED') return err;
  const headers = new HeaderMap();
  if (typeof ext.retryAfterSeconds === 'number') headers.set('retry-after', String(ext.retryAfterSeconds));
  return new GraphQLError((err as Error).message, { originalError: err as Error, extensions: { ...ext, http: { status: 429, headers } } });
}
