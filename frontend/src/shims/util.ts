// sharedb's client asks for Node's `util` only for `inherits`; this keeps the
// browser bundle free of a Node polyfill (see vite.config.ts).
import inherits from 'inherits';

export { inherits };
export default { inherits };
