// The README's usage example, runnable: `npm run build && node examples/quickstart.mjs`.
import { SessionPool, PythonBridgeError } from 'dspex';

const pool = new SessionPool({
  name: 'models',
  size: 2,
  pythonPath: [new URL('./py', import.meta.url).pathname],
  pythonModules: ['my_model'],
});
await pool.start();
try {
  const out = await pool.executeInSession('user-42', 'my_model.predict', { text: 'a good day' }, { timeoutMs: 2000, signal: AbortSignal.timeout(5000) });
  console.log('predict:', JSON.stringify(out));
  console.log('remember:', JSON.stringify(await pool.executeInSession('user-42', 'my_model.remember', { key: 'lang', value: 'en' })));
  await pool.executeAnonymous('my_model.predict', { text: 'slow', delay_ms: 500 }, { timeoutMs: 100 });
} catch (err) {
  if (err instanceof PythonBridgeError) console.log('error:', err.category, err.type);
  else throw err;
} finally {
  await pool.stop();
}
