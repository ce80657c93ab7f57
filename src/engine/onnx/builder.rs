//! The graph builder: BERT-family encoders node by node, in f32 or int8.

use super::*;

/// Builds the graph node by node.
pub(super) struct Builder {
    pub(super) graph: Graph,
    pub(super) precision: Precision,
    pub(super) qmax: f32,
    pub(super) nodes: usize,
    pub(super) constants: bool,
}

impl Builder {
    pub(super) fn new(precision: Precision) -> Result<Self> {
        Ok(Builder {
            graph: Graph::new().map_err(ort_err)?,
            precision,
            qmax: int8_range(),
            nodes: 0,
            constants: false,
        })
    }

    /// The finished model: int32 `input_ids`, `token_type_ids` and `attention_mask`
    /// `[batch, seq]` in, f32 `outputs` `[batch, seq, width]` out.
    pub(super) fn finish(self, outputs: &[(&str, usize)]) -> Result<Model> {
        let int32 = |name: &str| {
            Outlet::new(
                name,
                ValueType::Tensor {
                    ty: TensorElementType::Int32,
                    shape: Shape::new([-1, -1]),
                    dimension_symbols: SymbolicDimensions::new(["batch".into(), "seq".into()]),
                },
            )
        };
        let mut graph = self.graph;
        graph
            .set_inputs([
                int32("input_ids"),
                int32("token_type_ids"),
                int32("attention_mask"),
            ])
            .map_err(ort_err)?;
        let float3 = |&(name, width): &(&str, usize)| {
            Outlet::new(
                name,
                ValueType::Tensor {
                    ty: TensorElementType::Float32,
                    shape: Shape::new([-1, -1, width as i64]),
                    dimension_symbols: SymbolicDimensions::new([
                        "batch".into(),
                        "seq".into(),
                        String::new(),
                    ]),
                },
            )
        };
        graph
            .set_outputs(outputs.iter().map(float3))
            .map_err(ort_err)?;
        let mut model = Model::new([
            Opset::new(ONNX_DOMAIN, 17).map_err(ort_err)?,
            Opset::new(MS_DOMAIN, 1).map_err(ort_err)?,
        ])
        .map_err(ort_err)?;
        model.set_graph(graph).map_err(ort_err)?;
        Ok(model)
    }

    pub(super) fn node(
        &mut self,
        op: &str,
        domain: &str,
        inputs: &[&str],
        outputs: &[&str],
        attributes: Vec<Attribute>,
    ) -> Result<()> {
        self.nodes += 1;
        let node = Node::new(
            op,
            domain,
            format!("{op}_{}", self.nodes),
            inputs,
            outputs,
            attributes,
        )
        .map_err(ort_err)?;
        self.graph.add_node(node).map_err(ort_err)
    }

    pub(super) fn initializer<T: PrimitiveTensorElementType + Copy + std::fmt::Debug>(
        &mut self,
        name: &str,
        shape: &[usize],
        data: &[T],
    ) -> Result<()> {
        let shape: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
        let mut t = Tensor::<T>::new(&Allocator::default(), shape).map_err(ort_err)?;
        t.extract_tensor_mut().1.copy_from_slice(data);
        self.graph.add_initializer(name, t, false).map_err(ort_err)
    }

    pub(super) fn f32(&mut self, name: &str, shape: &[usize], data: &[f32]) -> Result<()> {
        self.initializer(name, shape, data)
    }

    /// `x · W + b` in f32; the result is named `out`.
    pub(super) fn linear_f32(&mut self, name: &str, x: &str, l: &Linear, out: &str) -> Result<()> {
        let (w, b, y) = (
            format!("{name}.w"),
            format!("{name}.b"),
            format!("{name}.xw"),
        );
        self.f32(&w, &[l.inp, l.out], &l.weight)?;
        self.f32(&b, &[l.out], &l.bias)?;
        self.node("MatMul", ONNX_DOMAIN, &[x, &w], &[&y], vec![])?;
        self.node("Add", ONNX_DOMAIN, &[&y, &b], &[out], vec![])
    }

    /// `x` quantized per token: each row gets its own scale (its largest magnitude / 127) and is
    /// stored as uint8 around 128, so a token's result does not depend on the other rows of the
    /// batch. Returns the quantized rows' and the scales' names (scales shaped `(B, S, 1)`).
    pub(super) fn quantize_rows(&mut self, name: &str, x: &str) -> Result<(String, String)> {
        let n = |v: &str| format!("{name}.{v}");
        if !self.constants {
            self.f32("q.inv127", &[], &[1.0 / 127.0])?;
            self.f32("q.tiny", &[], &[1e-12])?;
            self.f32("q.one", &[], &[1.0])?;
            self.initializer::<u8>("q.zp", &[], &[128])?;
            self.constants = true;
        }
        let attr = |k: &str, v: i64| Attribute::new(k, v).map_err(ort_err);
        let axes = || -> Result<Vec<Attribute>> {
            Ok(vec![
                Attribute::new("axes", vec![-1i64]).map_err(ort_err)?,
                attr("keepdims", 1)?,
            ])
        };
        self.node("ReduceMax", ONNX_DOMAIN, &[x], &[&n("hi")], axes()?)?;
        self.node("ReduceMin", ONNX_DOMAIN, &[x], &[&n("lo")], axes()?)?;
        self.node("Neg", ONNX_DOMAIN, &[&n("lo")], &[&n("nlo")], vec![])?;
        self.node(
            "Max",
            ONNX_DOMAIN,
            &[&n("hi"), &n("nlo"), "q.tiny"],
            &[&n("max")],
            vec![],
        )?;
        self.node(
            "Mul",
            ONNX_DOMAIN,
            &[&n("max"), "q.inv127"],
            &[&n("xs")],
            vec![],
        )?;
        self.node("Div", ONNX_DOMAIN, &[x, &n("xs")], &[&n("xn")], vec![])?;
        self.node(
            "QuantizeLinear",
            ONNX_DOMAIN,
            &[&n("xn"), "q.one", "q.zp"],
            &[&n("xq")],
            vec![],
        )?;
        Ok((n("xq"), n("xs")))
    }

    /// `(xq · W) · xs (+ b)` for rows quantized by [`Builder::quantize_rows`], the weights int8
    /// per output column.
    pub(super) fn matmul_rows(
        &mut self,
        name: &str,
        (xq, xs): (&str, &str),
        l: &Linear,
        bias: bool,
    ) -> Result<String> {
        let n = |v: &str| format!("{name}.{v}");
        let (q, scales) = l.quantize(self.qmax);
        self.initializer(&n("wq"), &[l.inp, l.out], &q)?;
        self.f32(&n("ws"), &[l.out], &scales)?;
        self.node(
            "MatMulIntegerToFloat",
            MS_DOMAIN,
            &[xq, &n("wq"), "q.one", &n("ws"), "q.zp"],
            &[&n("acc")],
            vec![],
        )?;
        let out = n("y");
        if bias {
            self.f32(&n("b"), &[l.out], &l.bias)?;
            self.node("Mul", ONNX_DOMAIN, &[&n("acc"), xs], &[&n("row")], vec![])?;
            self.node("Add", ONNX_DOMAIN, &[&n("row"), &n("b")], &[&out], vec![])?;
        } else {
            self.node("Mul", ONNX_DOMAIN, &[&n("acc"), xs], &[&out], vec![])?;
        }
        Ok(out)
    }

    /// `x · W + b` in the builder's precision; returns the output's name.
    pub(super) fn linear(&mut self, name: &str, x: &str, l: &Linear) -> Result<String> {
        let out = format!("{name}.y");
        match self.precision {
            Precision::F32 => self.linear_f32(name, x, l, &out)?,
            Precision::Int8Rows => {
                let (xq, xs) = self.quantize_rows(name, x)?;
                return self.matmul_rows(name, (&xq, &xs), l, true);
            }
            Precision::Int8 => {
                let (q, scales) = l.quantize(self.qmax);
                let (w, s, b) = (
                    format!("{name}.wq"),
                    format!("{name}.ws"),
                    format!("{name}.b"),
                );
                self.initializer(&w, &[l.inp, l.out], &q)?;
                self.f32(&s, &[l.out], &scales)?;
                self.f32(&b, &[l.out], &l.bias)?;
                self.node(
                    "DynamicQuantizeMatMul",
                    MS_DOMAIN,
                    &[x, &w, &s, "", &b],
                    &[&out],
                    vec![],
                )?;
            }
        }
        Ok(out)
    }

    /// Self-attention over `x` with the query, key and value projections `parts`: merged into
    /// one projection for `Attention` in f32 and `QAttention` (int8 projection, f32 attention)
    /// in int8; in int8-rows three products of the same quantized rows feeding
    /// `MultiHeadAttention` (f32). Returns the context's name.
    pub(super) fn attention(
        &mut self,
        name: &str,
        x: &str,
        parts: &[Linear; 3],
        heads: i64,
    ) -> Result<String> {
        let qkv = Linear::concat(parts);
        let (out, b) = (format!("{name}.ctx"), format!("{name}.b"));
        self.f32(&b, &[qkv.out], &qkv.bias)?;
        let heads = vec![Attribute::new("num_heads", heads).map_err(ort_err)?];
        match self.precision {
            Precision::F32 => {
                let w = format!("{name}.w");
                self.f32(&w, &[qkv.inp, qkv.out], &qkv.weight)?;
                let inputs = [x, &w, &b, "mask_index"];
                self.node("Attention", MS_DOMAIN, &inputs, &[&out], heads)?;
            }
            Precision::Int8Rows => {
                let (xq, xs) = self.quantize_rows(name, x)?;
                let mut qkv_names = Vec::with_capacity(3);
                for (l, part) in parts.iter().zip(["q", "k", "v"]) {
                    let part = format!("{name}.{part}");
                    qkv_names.push(self.matmul_rows(&part, (&xq, &xs), l, false)?);
                }
                let [q, k, v] = [0, 1, 2].map(|i| qkv_names[i].as_str());
                let inputs = [q, k, v, &b, "mask_index"];
                self.node("MultiHeadAttention", MS_DOMAIN, &inputs, &[&out], heads)?;
            }
            Precision::Int8 => {
                let (q, scales) = qkv.quantize(self.qmax);
                let (w, s) = (format!("{name}.wq"), format!("{name}.ws"));
                self.initializer(&w, &[qkv.inp, qkv.out], &q)?;
                self.f32(&s, &[qkv.out], &scales)?;
                let [xq, xs, xz] = ["xq", "xs", "xz"].map(|v| format!("{name}.{v}"));
                let quantized = [xq.as_str(), &xs, &xz];
                self.node(
                    "DynamicQuantizeLinear",
                    ONNX_DOMAIN,
                    &[x],
                    &quantized,
                    vec![],
                )?;
                let inputs = [xq.as_str(), &w, &b, &xs, &s, "mask_index", &xz];
                self.node("QAttention", MS_DOMAIN, &inputs, &[&out], heads)?;
            }
        }
        Ok(out)
    }

    /// `LayerNorm(a + skip)` as `Add` + `LayerNormalization` (see the optimization level in
    /// [`OnnxBert::new`]); returns the output's name.
    pub(super) fn skip_norm(
        &mut self,
        name: &str,
        a: &str,
        skip: &str,
        gamma: &str,
        beta: &str,
        eps: f32,
    ) -> Result<String> {
        let (sum, out) = (format!("{name}.sum"), format!("{name}.y"));
        self.node("Add", ONNX_DOMAIN, &[a, skip], &[&sum], vec![])?;
        self.node(
            "LayerNormalization",
            ONNX_DOMAIN,
            &[&sum, gamma, beta],
            &[&out],
            vec![
                Attribute::new("epsilon", eps).map_err(ort_err)?,
                Attribute::new("axis", -1i64).map_err(ort_err)?,
            ],
        )?;
        Ok(out)
    }
}
