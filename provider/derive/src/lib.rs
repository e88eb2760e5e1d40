//! `#[derive(Model)]` for the Terraform provider: one Rust struct per Terraform block is the
//! single declaration of that block. The derive generates, from the struct and its `#[tf(..)]`
//! field attributes and doc comments:
//!
//! - `Model::block()`: the schema block (attribute types from the field types, flags, Markdown
//!   descriptions from the doc comments, defaults, nested blocks);
//! - `Model::decode(value, path)`: a Terraform object value into the struct, with a
//!   diagnostic naming the attribute path for every value of the wrong kind;
//! - `Model::encode(&self)`: the struct back into a Terraform object value (lossless:
//!   `decode(encode(m)) == m`);
//! - one `pub const NAME: &str` per field (the attribute name), so code that must name an
//!   attribute (diagnostic paths, error-target tables) does it through the struct: renaming a
//!   field is a compile error at every use.
//!
//! Field attributes (`#[tf(...)]`):
//!
//! | key | meaning |
//! |---|---|
//! | `required`, `optional`, `computed` | Terraform flags (`optional, computed` together is allowed) |
//! | `sensitive`, `write_only`, `force_new` | flags; `force_new` lists the path in `requires_replace` |
//! | `default = <literal>` | value planned when the configuration leaves it out (implies optional + computed) |
//! | `block` / `block(list)`, `block(set)`, `block(single)`, `block(group)` | a nested block (`Tf<Vec<M>>`, or `Tf<M>` for single and group) |
//! | `min_items = n`, `max_items = n` | block item bounds |
//! | `nested(list)`, `nested(set)`, `nested(single)` | nested attributes (`x = [{..}]`) |
//! | `name = "..."` | attribute name when it differs from the field name (`r#type` is `type` already) |
//! | `deprecated = "..."` | deprecated, with the message |
//!
//! Attribute fields are `Tf<T>` with `T: TfValue` (`String`, `i64`, `bool`, `Number`,
//! `Vec<Tf<T>>`, `SetOf<T>`, `BTreeMap<String, Tf<T>>`).

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as Tokens};
use quote::{format_ident, quote};
use syn::{parse_macro_input, Data, DeriveInput, Fields, Ident, Lit, LitStr};

/// Derives `Model` (see the crate docs).
#[proc_macro_derive(Model, attributes(tf))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Nesting {
    List,
    Set,
    Single,
    Group,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Attribute,
    Block(Nesting),
    Nested(Nesting),
}

struct FieldSpec {
    ident: Ident,
    ty: syn::Type,
    name: String,
    kind: Kind,
    required: bool,
    optional: bool,
    computed: bool,
    sensitive: bool,
    write_only: bool,
    force_new: bool,
    default: Option<Lit>,
    min_items: Option<i64>,
    max_items: Option<i64>,
    deprecated: Option<String>,
    doc: String,
}

/// Joins `///` lines: consecutive lines form one paragraph, blank lines separate paragraphs.
fn doc_text(attrs: &[syn::Attribute]) -> String {
    let mut paragraphs: Vec<String> = vec![String::new()];
    for a in attrs.iter().filter(|a| a.path().is_ident("doc")) {
        if let syn::Meta::NameValue(nv) = &a.meta {
            if let syn::Expr::Lit(syn::ExprLit {
                lit: Lit::Str(s), ..
            }) = &nv.value
            {
                let line = s.value();
                let line = line.trim();
                let cur = paragraphs.last_mut().expect("never empty");
                if line.is_empty() {
                    if !cur.is_empty() {
                        paragraphs.push(String::new());
                    }
                } else {
                    if !cur.is_empty() {
                        cur.push(' ');
                    }
                    cur.push_str(line);
                }
            }
        }
    }
    paragraphs
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn nesting_of(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<Nesting> {
    if meta.input.peek(syn::token::Paren) {
        let mut n = None;
        meta.parse_nested_meta(|inner| {
            n = Some(if inner.path.is_ident("list") {
                Nesting::List
            } else if inner.path.is_ident("set") {
                Nesting::Set
            } else if inner.path.is_ident("single") {
                Nesting::Single
            } else if inner.path.is_ident("group") {
                Nesting::Group
            } else {
                return Err(inner.error("expected list, set, single or group"));
            });
            Ok(())
        })?;
        n.ok_or_else(|| meta.error("expected list, set, single or group"))
    } else {
        Ok(Nesting::List)
    }
}

fn parse_field(f: &syn::Field) -> syn::Result<FieldSpec> {
    let ident = f
        .ident
        .clone()
        .ok_or_else(|| syn::Error::new(Span::call_site(), "Model needs named fields"))?;
    let raw = ident.to_string();
    let mut spec = FieldSpec {
        name: raw.trim_start_matches("r#").to_string(),
        ident,
        ty: f.ty.clone(),
        kind: Kind::Attribute,
        required: false,
        optional: false,
        computed: false,
        sensitive: false,
        write_only: false,
        force_new: false,
        default: None,
        min_items: None,
        max_items: None,
        deprecated: None,
        doc: doc_text(&f.attrs),
    };
    for a in f.attrs.iter().filter(|a| a.path().is_ident("tf")) {
        a.parse_nested_meta(|meta| {
            let p = &meta.path;
            if p.is_ident("required") {
                spec.required = true;
            } else if p.is_ident("optional") {
                spec.optional = true;
            } else if p.is_ident("computed") {
                spec.computed = true;
            } else if p.is_ident("sensitive") {
                spec.sensitive = true;
            } else if p.is_ident("write_only") {
                spec.write_only = true;
            } else if p.is_ident("force_new") {
                spec.force_new = true;
            } else if p.is_ident("default") {
                spec.default = Some(meta.value()?.parse()?);
                spec.optional = true;
                spec.computed = true;
            } else if p.is_ident("block") {
                spec.kind = Kind::Block(nesting_of(&meta)?);
            } else if p.is_ident("nested") {
                spec.kind = Kind::Nested(nesting_of(&meta)?);
            } else if p.is_ident("min_items") {
                let n: syn::LitInt = meta.value()?.parse()?;
                spec.min_items = Some(n.base10_parse()?);
            } else if p.is_ident("max_items") {
                let n: syn::LitInt = meta.value()?.parse()?;
                spec.max_items = Some(n.base10_parse()?);
            } else if p.is_ident("name") {
                let s: LitStr = meta.value()?.parse()?;
                spec.name = s.value();
            } else if p.is_ident("deprecated") {
                let s: LitStr = meta.value()?.parse()?;
                spec.deprecated = Some(s.value());
            } else {
                return Err(meta.error("unknown tf attribute"));
            }
            Ok(())
        })?;
    }
    if matches!(spec.kind, Kind::Attribute | Kind::Nested(_))
        && !(spec.required || spec.optional || spec.computed)
    {
        return Err(syn::Error::new_spanned(
            &f.ident,
            "a Terraform attribute needs required, optional or computed",
        ));
    }
    Ok(spec)
}

fn nesting_tokens(root: &Tokens, n: Nesting, block: bool) -> Tokens {
    match (n, block) {
        (Nesting::List, true) => quote!(#root::plugin::schema::BlockNesting::List),
        (Nesting::Set, true) => quote!(#root::plugin::schema::BlockNesting::Set),
        (Nesting::Single, true) => quote!(#root::plugin::schema::BlockNesting::Single),
        (Nesting::Group, true) => quote!(#root::plugin::schema::BlockNesting::Group),
        (Nesting::List, false) => quote!(#root::plugin::schema::ObjectNesting::List),
        (Nesting::Set, false) => quote!(#root::plugin::schema::ObjectNesting::Set),
        (Nesting::Single | Nesting::Group, false) => {
            quote!(#root::plugin::schema::ObjectNesting::Single)
        }
    }
}

fn flags(root: &Tokens, f: &FieldSpec) -> Tokens {
    let mut t = Tokens::new();
    if f.required {
        t.extend(quote!(.required()));
    }
    if f.optional {
        t.extend(quote!(.optional()));
    }
    if f.computed {
        t.extend(quote!(.computed()));
    }
    if f.sensitive {
        t.extend(quote!(.sensitive()));
    }
    if f.write_only {
        t.extend(quote!(.write_only()));
    }
    if f.force_new {
        t.extend(quote!(.force_new()));
    }
    if let Some(d) = &f.default {
        t.extend(quote!(.default_value(#root::plugin::Value::from(#d))));
    }
    if let Some(m) = &f.deprecated {
        t.extend(quote!(.deprecated(#m)));
    }
    let doc = &f.doc;
    t.extend(quote!(.description(#doc)));
    t
}

fn expand(input: &DeriveInput) -> syn::Result<Tokens> {
    let root = quote!(::terraform_provider_azuresessions);
    let ident = &input.ident;
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            ident,
            "Model is derived for structs",
        ));
    };
    let Fields::Named(named) = &data.fields else {
        return Err(syn::Error::new_spanned(
            ident,
            "Model needs a struct with named fields",
        ));
    };
    let fields: Vec<FieldSpec> = named
        .named
        .iter()
        .map(parse_field)
        .collect::<syn::Result<_>>()?;
    let block_doc = doc_text(&input.attrs);

    let mut schema_items = Vec::new();
    let mut decode_items = Vec::new();
    let mut field_inits = Vec::new();
    let mut encode_items = Vec::new();
    let mut consts = Vec::new();
    for f in &fields {
        let (fid, ty, name) = (&f.ident, &f.ty, &f.name);
        // Decoded values get their own names: a field may be called `path` or `value`.
        let local = format_ident!("__tf_field_{}", name);
        let cname = format_ident!("{}", name.to_uppercase());
        let doc = format!("The `{name}` attribute.");
        consts.push(quote! {
            #[doc = #doc]
            pub const #cname: &'static str = #name;
        });
        let fl = flags(&root, f);
        match f.kind {
            Kind::Attribute => {
                schema_items.push(quote! {
                    .attribute(#root::plugin::schema::Attribute::new(
                        #name,
                        <#ty as #root::plugin::model::AttrField>::tf_type(),
                    ) #fl)
                });
                decode_items.push(quote! {
                    let #local = match <#ty as #root::plugin::model::AttrField>::decode_field(
                        __tf_obj.get(#name), &__tf_path.clone().then_attr(#name)) {
                        Ok(x) => x,
                        Err(d) => { __tf_diags.push(d); ::core::default::Default::default() }
                    };
                });
                encode_items.push(quote! {
                    (#name, #root::plugin::model::AttrField::encode_field(&self.#fid))
                });
            }
            Kind::Block(n) => {
                let nest = nesting_tokens(&root, n, true);
                let doc = &f.doc;
                let described = if doc.is_empty() {
                    quote!(<#ty as #root::plugin::model::BlockField>::model_block())
                } else {
                    quote!(<#ty as #root::plugin::model::BlockField>::model_block().description(#doc))
                };
                let mut nb = quote! {
                    #root::plugin::schema::NestedBlock::new(#name, #nest, #described)
                };
                if let Some(m) = f.min_items {
                    nb.extend(quote!(.min_items(#m)));
                }
                if let Some(m) = f.max_items {
                    nb.extend(quote!(.max_items(#m)));
                }
                if f.force_new {
                    nb.extend(quote!(.force_new()));
                }
                schema_items.push(quote!(.block(#nb)));
                decode_items.push(quote! {
                    let #local = match <#ty as #root::plugin::model::BlockField>::decode_field(
                        __tf_obj.get(#name), &__tf_path.clone().then_attr(#name), #nest) {
                        Ok(x) => x,
                        Err(d) => { __tf_diags.extend(d); ::core::default::Default::default() }
                    };
                });
                encode_items.push(quote! {
                    (#name, #root::plugin::model::BlockField::encode_field(&self.#fid, #nest))
                });
            }
            Kind::Nested(n) => {
                let nest = nesting_tokens(&root, n, false);
                let bnest = nesting_tokens(&root, n, true);
                schema_items.push(quote! {
                    .attribute(#root::plugin::schema::Attribute::nested(
                        #name,
                        #nest,
                        <#ty as #root::plugin::model::BlockField>::model_block().attributes,
                    ) #fl)
                });
                decode_items.push(quote! {
                    let #local = match <#ty as #root::plugin::model::BlockField>::decode_field(
                        __tf_obj.get(#name), &__tf_path.clone().then_attr(#name), #bnest) {
                        Ok(x) => x,
                        Err(d) => { __tf_diags.extend(d); ::core::default::Default::default() }
                    };
                });
                encode_items.push(quote! {
                    (#name, #root::plugin::model::BlockField::encode_field(&self.#fid, #bnest))
                });
            }
        }
        field_inits.push(quote!(#fid: #local));
    }

    Ok(quote! {
        impl #ident {
            #(#consts)*
        }

        impl #root::plugin::model::Model for #ident {
            fn block() -> #root::plugin::schema::Block {
                #root::plugin::schema::Block::new()
                    .description(#block_doc)
                    #(#schema_items)*
            }

            fn decode(
                __tf_value: &#root::plugin::Value,
                __tf_path: &#root::plugin::AttributePath,
            ) -> ::core::result::Result<Self, #root::plugin::Diagnostics> {
                let __tf_obj = #root::plugin::model::expect_object(__tf_value, __tf_path)?;
                let mut __tf_diags = #root::plugin::Diagnostics::new();
                #(#decode_items)*
                if __tf_diags.has_errors() {
                    return ::core::result::Result::Err(__tf_diags);
                }
                ::core::result::Result::Ok(Self { #(#field_inits),* })
            }

            fn encode(&self) -> #root::plugin::Value {
                #root::plugin::Value::object([#(#encode_items),*])
            }
        }
    })
}
