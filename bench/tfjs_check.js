// Compares the ONNX conversions of bench/tfjs_onnx.py with TFJS itself on the crops bench/embeddings.py wrote.
//
//   mkdir -p /tmp/tfjs && (cd /tmp/tfjs && npm install @tensorflow/tfjs-core@4 @tensorflow/tfjs-converter@4 @tensorflow/tfjs-backend-cpu@4)
//   NODE_PATH=/tmp/tfjs/node_modules node bench/tfjs_check.js /tmp/impwatch-tfjs-check.json /tmp/hm/package/models
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const converter = require('@tensorflow/tfjs-converter');

const [checkFile, models] = process.argv.slice(2);
const check = JSON.parse(fs.readFileSync(checkFile));

function fromFiles(graph) {
  return {
    load: async () => {
      const spec = JSON.parse(fs.readFileSync(path.join(models, graph)));
      const weightSpecs = [];
      const parts = [];
      for (const group of spec.weightsManifest) {
        weightSpecs.push(...group.weights);
        for (const file of group.paths) parts.push(fs.readFileSync(path.join(models, file)));
      }
      const data = Buffer.concat(parts);
      const weightData = data.buffer.slice(data.byteOffset, data.byteOffset + data.length);
      return { modelTopology: spec.modelTopology, weightSpecs, weightData, format: spec.format };
    },
  };
}

const unit = (v) => { const n = Math.hypot(...v); return v.map((x) => x / n); };
const distance = (a, b) => Math.hypot(...a.map((x, i) => x - b[i]));

(async () => {
  await tf.setBackend('cpu');
  for (const [name, run] of Object.entries(check.models)) {
    const model = await converter.loadGraphModel(fromFiles(run.graph));
    const out = model.execute(tf.tensor(run.input, run.shape), run.output);
    const got = await tf.reshape(out, [run.shape[0], -1]).array();
    let worst = 0;
    got.forEach((row, i) => row.forEach((x, k) => { worst = Math.max(worst, Math.abs(x - run.onnx[i][k])); }));
    const e = got.map(unit);
    const pairs = [[0, 1], [0, 2], [0, 3]].map(([a, b]) => `${check.photos[a]}-${check.photos[b]} ${distance(e[a], e[b]).toFixed(3)}`);
    console.log(`${name}: largest TFJS-ONNX difference ${worst.toExponential(2)}; TFJS distances ${pairs.join(', ')}`);
  }
})();
