// browse.mjs - drive headless Chromium through the DevTools protocol, for
// the integration tests of pages berth serves. Node's standard library
// only: Chromium is started with --remote-debugging-pipe and spoken to over
// its file descriptors 3 and 4 (JSON messages ending in a NUL byte).
//
//   node browse.mjs --out DIR [--chromium PATH] STEP...
//
// Steps run in order, in one tab of a fresh profile:
//   open URL                 load URL (wait for the load event)
//   size WIDTH HEIGHT        the viewport; a width under 600 is a phone's (mobile, touch)
//   wait SECONDS EXPR        until the JavaScript expression EXPR is true in the page
//   eval NAME EXPR           write EXPR's value (JSON) to DIR/NAME.json
//   type SELECTOR TEXT       focus the element and type TEXT as a keyboard would
//   click SELECTOR           a mouse click in the middle of the element
//   shot FILE                a PNG of the whole page (not only the viewport)
//   requests NAME            every request the page made so far, to DIR/NAME.json:
//                            [{url, method, headers}]
//   errors NAME              what the page reported as errors so far, to DIR/NAME.json:
//                            exceptions, console errors, and the browser's
//                            own errors (a blocked script, a refused
//                            resource), without the network's status lines
//
// A step that fails (a wait that times out, an element not found) ends
// with exit 1 and a message naming the step; Chromium is stopped always.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
let out = null;
let chromium = process.env.CHROMIUM || 'chromium';
while (args.length && args[0].startsWith('--')) {
	const opt = args.shift();
	if (opt === '--out') out = args.shift();
	else if (opt === '--chromium') chromium = args.shift();
	else die(`unknown option ${opt}`);
}
if (!out) die('usage: browse.mjs --out DIR [--chromium PATH] STEP...');

function die(msg) {
	process.stderr.write(`browse: ${msg}\n`);
	process.exit(1);
}

const profile = mkdtempSync(join(tmpdir(), 'browse-'));
const child = spawn(chromium, [
	'--headless', '--no-sandbox', '--disable-gpu', '--remote-debugging-pipe',
	`--user-data-dir=${profile}`, '--no-first-run', '--no-default-browser-check',
	'--disable-extensions', '--disable-background-networking', '--disable-component-update',
	'--disable-sync', '--disable-default-apps', '--no-pings', '--metrics-recording-only',
	'--hide-scrollbars', '--mute-audio', '--force-color-profile=srgb', 'about:blank',
], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
let stderr = '';
child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
const toBrowser = child.stdio[3];
const fromBrowser = child.stdio[4];

let nextId = 1;
const pending = new Map();
const listeners = [];
let inbox = Buffer.alloc(0);
fromBrowser.on('data', (chunk) => {
	inbox = Buffer.concat([inbox, chunk]);
	let nul;
	while ((nul = inbox.indexOf(0)) >= 0) {
		const msg = JSON.parse(inbox.subarray(0, nul).toString('utf8'));
		inbox = inbox.subarray(nul + 1);
		if (msg.id && pending.has(msg.id)) {
			const { resolve, reject, method } = pending.get(msg.id);
			pending.delete(msg.id);
			if (msg.error) reject(new Error(`${method}: ${msg.error.message}`));
			else resolve(msg.result);
		} else if (msg.method) {
			for (const l of listeners) l(msg);
		}
	}
});
child.on('exit', (code, sig) => {
	for (const { reject } of pending.values())
		reject(new Error(`chromium exited (${sig || code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
	pending.clear();
});

function send(method, params = {}, sessionId) {
	const id = nextId++;
	return new Promise((resolve, reject) => {
		pending.set(id, { resolve, reject, method });
		toBrowser.write(JSON.stringify({ id, method, params, sessionId }) + '\0');
	});
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The first page target, attached with a session of its own.
async function attach() {
	const { targetInfos } = await send('Target.getTargets');
	const page = targetInfos.find((t) => t.type === 'page');
	const { targetId } = page || await send('Target.createTarget', { url: 'about:blank' });
	const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
	return sessionId;
}

const requests = [];
const errors = [];
let loaded = null;

async function main() {
	const session = await attach();
	const page = (method, params) => send(method, params, session);
	listeners.push((m) => {
		if (m.sessionId !== session) return;
		const p = m.params;
		if (m.method === 'Network.requestWillBeSent')
			requests.push({ url: p.request.url, method: p.request.method, headers: p.request.headers });
		else if (m.method === 'Runtime.exceptionThrown')
			errors.push({ source: 'exception', text: p.exceptionDetails.exception?.description ||
				      p.exceptionDetails.text });
		else if (m.method === 'Runtime.consoleAPICalled' && (p.type === 'error' || p.type === 'assert'))
			errors.push({ source: 'console', text: p.args.map((a) => a.value ?? a.description).join(' ') });
		else if (m.method === 'Log.entryAdded' && p.entry.level === 'error' && p.entry.source !== 'network')
			errors.push({ source: p.entry.source, text: p.entry.text });
		else if (m.method === 'Page.loadEventFired' && loaded)
			loaded();
	});
	await page('Page.enable');
	await page('Runtime.enable');
	await page('Network.enable');
	await page('Log.enable');

	// EXPR's value in the page; an exception in it is the step's failure.
	async function evaluate(expr) {
		const r = await page('Runtime.evaluate', { expression: expr, returnByValue: true, awaitPromise: true });
		if (r.exceptionDetails)
			throw new Error(`${expr}: ${r.exceptionDetails.exception?.description || r.exceptionDetails.text}`);
		return r.result.value;
	}
	async function center(selector) {
		const box = await evaluate(`(() => { const e = document.querySelector(${JSON.stringify(selector)});
			if (!e) return null; e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();
			return {x: r.x + r.width / 2, y: r.y + r.height / 2}; })()`);
		if (!box) throw new Error(`no element ${selector}`);
		return box;
	}

	const steps = {
		async open(url) {
			const done = new Promise((r) => { loaded = r; });
			const nav = await page('Page.navigate', { url });
			if (nav.errorText) throw new Error(`${url}: ${nav.errorText}`);
			await done;
		},
		async size(w, h) {
			const width = Number(w), height = Number(h), mobile = width < 600;
			await page('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile });
			await page('Emulation.setTouchEmulationEnabled', { enabled: mobile });
		},
		async wait(seconds, expr) {
			const end = Date.now() + Number(seconds) * 1000;
			for (;;) {
				let v, why = null;
				try {
					v = await evaluate(`!!(${expr})`);
				} catch (e) {
					why = e.message;
				}
				if (v === true) return;
				if (Date.now() > end)
					throw new Error(`not true after ${seconds} s: ${expr}${why ? ` (${why})` : ''}`);
				await sleep(100);
			}
		},
		async eval(name, expr) {
			writeFileSync(join(out, `${name}.json`), JSON.stringify(await evaluate(expr), null, 1) + '\n');
		},
		async type(selector, text) {
			await center(selector);
			await evaluate(`document.querySelector(${JSON.stringify(selector)}).focus()`);
			await page('Input.insertText', { text });
		},
		async click(selector) {
			const { x, y } = await center(selector);
			for (const type of ['mousePressed', 'mouseReleased'])
				await page('Input.dispatchMouseEvent', { type, x, y, button: 'left', clickCount: 1 });
		},
		async shot(file) {
			const { cssContentSize } = await page('Page.getLayoutMetrics');
			const { data } = await page('Page.captureScreenshot', {
				format: 'png', captureBeyondViewport: true,
				clip: { x: 0, y: 0, width: Math.ceil(cssContentSize.width),
					height: Math.ceil(cssContentSize.height), scale: 1 },
			});
			writeFileSync(file, Buffer.from(data, 'base64'));
		},
		async requests(name) {
			writeFileSync(join(out, `${name}.json`), JSON.stringify(requests, null, 1) + '\n');
		},
		async errors(name) {
			writeFileSync(join(out, `${name}.json`), JSON.stringify(errors, null, 1) + '\n');
		},
	};
	const arity = { open: 1, size: 2, wait: 2, eval: 2, type: 2, click: 1, shot: 1, requests: 1, errors: 1 };
	while (args.length) {
		const step = args.shift();
		if (!(step in steps)) throw new Error(`unknown step ${step}`);
		const a = args.splice(0, arity[step]);
		if (a.length < arity[step]) throw new Error(`${step}: wants ${arity[step]} arguments`);
		try {
			await steps[step](...a);
		} catch (e) {
			throw new Error(`${step} ${a.join(' ').slice(0, 200)}: ${e.message}`);
		}
	}
}

let rc = 0;
try {
	await main();
} catch (e) {
	process.stderr.write(`browse: ${e.message}\n`);
	rc = 1;
}
// Close the browser, then remove its profile.
try {
	await Promise.race([send('Browser.close'), sleep(5000)]);
} catch (e) {
	// it may have gone already
}
if (child.exitCode === null && child.signalCode === null) {
	const gone = new Promise((r) => child.once('exit', r));
	await Promise.race([gone, sleep(5000)]);
	if (child.exitCode === null && child.signalCode === null) {
		child.kill('SIGKILL');
		await gone;
	}
}
rmSync(profile, { recursive: true, force: true });
process.exit(rc);
