// A transformers.js client for the Node tests: loads an export from a local folder only and
// prints what it computed as one line of JSON.
//
// Reads a JSON request on stdin: {entry, models, model, flow, ...}. `entry` is the file
// transformers.js's package exports for Node's `import`, `models` the folder that holds the
// export (env.localModelPath), `model` the export's folder name inside it.
import { pathToFileURL } from 'node:url';

let text = '';
for await (const chunk of process.stdin) text += chunk;
const request = JSON.parse(text);

const tjs = await import(pathToFileURL(request.entry).href);
const { env } = tjs;
env.allowRemoteModels = false; // a missing file must fail, not be fetched
env.allowLocalModels = true;
env.localModelPath = request.models;
env.useFSCache = false;

const id = request.model;
const flows = {
    // the feature-extraction pipeline, pooled and normalized as sentence-transformers does
    async 'feature-extraction'() {
        const extractor = await tjs.pipeline('feature-extraction', id);
        const embeddings = await extractor(request.texts, { pooling: 'mean', normalize: true });
        return { embeddings: embeddings.tolist(), sessions: Object.keys(extractor.model.sessions) };
    },
    async 'text-generation'() {
        const tokenizer = await tjs.AutoTokenizer.from_pretrained(id);
        const model = await tjs.AutoModelForCausalLM.from_pretrained(id);
        return generate(tokenizer, model);
    },
    async 'text2text-generation'() {
        const tokenizer = await tjs.AutoTokenizer.from_pretrained(id);
        const model = await tjs.AutoModelForSeq2SeqLM.from_pretrained(id);
        return generate(tokenizer, model);
    },
    async 'image-classification'() {
        const processor = await tjs.AutoProcessor.from_pretrained(id);
        const model = await tjs.AutoModelForImageClassification.from_pretrained(id);
        const inputs = await processor(await tjs.RawImage.read(request.image));
        const { logits } = await model(inputs);
        return { logits: logits.tolist(), sessions: Object.keys(model.sessions) };
    },
};

async function generate(tokenizer, model) {
    const inputs = tokenizer(request.prompt);
    const sequences = await model.generate({
        ...inputs, max_new_tokens: request.new_tokens, min_new_tokens: request.new_tokens, do_sample: false,
    });
    const sessions = Object.fromEntries(Object.entries(model.sessions).map(([name, s]) => [name, s.inputNames]));
    return {
        prompt_ids: inputs.input_ids.tolist()[0].map(Number),
        tokens: sequences.tolist()[0].map(Number),
        sessions,
    };
}

const answer = await flows[request.flow]();
process.stdout.write('\n' + JSON.stringify(answer) + '\n');
