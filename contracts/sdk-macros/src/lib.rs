//! Procedural macros of chainvm-sdk: `#[contract]`, `#[event]` and `#[derive(AbiType)]`.
//!
//! The ABI is emitted as JSON into wasm custom sections: `#[contract]` writes the methods to
//! `chainvm_abi`; every `AbiType` and `#[event]` type writes its definition, one JSON object per
//! line, to `chainvm_abi_types` (the linker concatenates sections of the same name). Types are
//! recorded as written in Rust (`Vec<u64>`, `Option<Address>`, `Deal`) and resolved by the
//! host-side ABI reader.

use chainvm_abi::{ABI_SECTION, CONSTRUCTOR, TYPES_SECTION};
use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::{
    Data, DeriveInput, Fields, FnArg, ImplItem, ItemImpl, ItemStruct, Pat, ReturnType, Type,
    parse_macro_input, spanned::Spanned,
};

/// JSON string literal escaping for the few characters type and field names can contain.
fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn type_string(ty: &Type) -> String {
    quote!(#ty).to_string().replace(' ', "")
}

/// A static placed in a custom section, kept by the linker.
fn section_static(section: &str, name: &str, json: &str) -> TokenStream2 {
    let bytes = json.as_bytes();
    let len = bytes.len();
    let lit = syn::LitByteStr::new(bytes, Span::call_site());
    let ident = format_ident!("__CHAINVM_ABI_{}", name.to_uppercase());
    quote! {
        #[cfg(target_arch = "wasm32")]
        #[unsafe(link_section = #section)]
        #[used]
        #[doc(hidden)]
        static #ident: [u8; #len] = *#lit;
    }
}

fn fields_json(fields: &Fields) -> String {
    let items: Vec<String> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let name = f
                .ident
                .as_ref()
                .map_or_else(|| i.to_string(), |n| n.to_string());
            format!(
                "{{\"name\":{},\"type\":{}}}",
                json_str(&name),
                json_str(&type_string(&f.ty))
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}

fn type_def_json(input: &DeriveInput, kind: &str) -> syn::Result<String> {
    let name = input.ident.to_string();
    match &input.data {
        Data::Struct(s) => Ok(format!(
            "{{\"kind\":{},\"name\":{},\"fields\":{}}}\n",
            json_str(kind),
            json_str(&name),
            fields_json(&s.fields)
        )),
        Data::Enum(e) => {
            let variants: Vec<String> = e
                .variants
                .iter()
                .map(|v| {
                    format!(
                        "{{\"name\":{},\"fields\":{}}}",
                        json_str(&v.ident.to_string()),
                        fields_json(&v.fields)
                    )
                })
                .collect();
            Ok(format!(
                "{{\"kind\":\"enum\",\"name\":{},\"variants\":[{}]}}\n",
                json_str(&name),
                variants.join(",")
            ))
        }
        Data::Union(_) => Err(syn::Error::new(
            input.span(),
            "unions cannot be part of a contract ABI",
        )),
    }
}

/// Records a struct or enum in the contract's ABI so the host can encode and decode it as
/// JSON. Use it on every type that appears in a method signature, event or error.
#[proc_macro_derive(AbiType)]
pub fn derive_abi_type(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match type_def_json(&input, "struct") {
        Ok(json) => section_static(TYPES_SECTION, &format!("type_{}", input.ident), &json).into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Makes a struct an event: borsh-encodable, with its name as topic, recorded in the ABI.
#[proc_macro_attribute]
pub fn event(_attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = parse_macro_input!(item as ItemStruct);
    let input: DeriveInput = item.clone().into();
    let json = match type_def_json(&input, "event") {
        Ok(j) => j,
        Err(e) => return e.to_compile_error().into(),
    };
    let name = &item.ident;
    let topic = name.to_string();
    let section = section_static(TYPES_SECTION, &format!("event_{name}"), &json);
    quote! {
        #[derive(::chainvm_sdk::borsh::BorshSerialize, ::chainvm_sdk::borsh::BorshDeserialize)]
        #[borsh(crate = "::chainvm_sdk::borsh")]
        #item
        impl ::chainvm_sdk::Event for #name {
            const TOPIC: &'static str = #topic;
        }
        #section
    }
    .into()
}

/// The last path segment of a type (`Result` for `core::result::Result<T, E>`) with its
/// generic arguments.
fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) => p.path.segments.last(),
        _ => None,
    }
}

fn result_parts(ty: &Type) -> Option<(Type, Type)> {
    let seg = last_segment(ty)?;
    if seg.ident != "Result" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &seg.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t.clone()),
        _ => None,
    });
    Some((types.next()?, types.next()?))
}

/// Turns an `impl` block into a contract: every `pub fn` becomes an exported entry point.
///
/// - `&self` methods are views (storage writes abort), `&mut self` methods may write;
/// - `init` is the constructor, run once at deploy;
/// - arguments arrive borsh-encoded as a tuple, the return value is borsh-encoded;
/// - `Result<T, E>`: `Ok(t)` returns `t`, `Err(e)` fails the call with `e` encoded as return
///   data and its `Debug` name as message, at the method's source location.
///
/// The type must implement `Default` (usually a unit struct; state lives in `Item`/`Map`).
#[proc_macro_attribute]
pub fn contract(_attr: TokenStream, item: TokenStream) -> TokenStream {
    let imp = parse_macro_input!(item as ItemImpl);
    match expand_contract(&imp) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand_contract(imp: &ItemImpl) -> syn::Result<TokenStream2> {
    let self_ty = &imp.self_ty;
    let contract_name = type_string(self_ty);
    let mut entries = Vec::new();
    let mut methods_json = Vec::new();
    for item in &imp.items {
        let ImplItem::Fn(f) = item else { continue };
        if !matches!(f.vis, syn::Visibility::Public(_)) {
            continue;
        }
        let name = &f.sig.ident;
        let name_str = name.to_string();
        let mut inputs = f.sig.inputs.iter();
        let view = match inputs.next() {
            Some(FnArg::Receiver(r)) if r.reference.is_some() => r.mutability.is_none(),
            _ => {
                return Err(syn::Error::new(
                    f.sig.span(),
                    "contract methods take `&self` (view) or `&mut self` (may write)",
                ));
            }
        };
        let mut arg_names = Vec::new();
        let mut arg_types = Vec::new();
        let mut args_json = Vec::new();
        for arg in inputs {
            let FnArg::Typed(pt) = arg else { continue };
            let Pat::Ident(id) = &*pt.pat else {
                return Err(syn::Error::new(
                    pt.pat.span(),
                    "arguments must be plain names",
                ));
            };
            arg_names.push(id.ident.clone());
            arg_types.push((*pt.ty).clone());
            args_json.push(format!(
                "{{\"name\":{},\"type\":{}}}",
                json_str(&id.ident.to_string()),
                json_str(&type_string(&pt.ty))
            ));
        }
        // The method kind as the ABI JSON spells it.
        let kind = if name_str == CONSTRUCTOR {
            "init"
        } else if view {
            "view"
        } else {
            "call"
        };
        let (returns, error, ret_code) = match &f.sig.output {
            ReturnType::Default => (
                "null".to_string(),
                "null".to_string(),
                quote! { let _: () = __result; },
            ),
            ReturnType::Type(_, ty) => match result_parts(ty) {
                Some((ok, err)) => {
                    let ok_json = if quote!(#ok).to_string().replace(' ', "") == "()" {
                        "null".to_string()
                    } else {
                        json_str(&type_string(&ok))
                    };
                    (
                        ok_json,
                        json_str(&type_string(&err)),
                        quote! {
                            match __result {
                                Ok(v) => ::chainvm_sdk::__private::ret(&v),
                                Err(e) => ::chainvm_sdk::__private::fail(&e, file!(), __line),
                            }
                        },
                    )
                }
                None => (
                    json_str(&type_string(ty)),
                    "null".to_string(),
                    quote! { ::chainvm_sdk::__private::ret(&__result); },
                ),
            },
        };
        methods_json.push(format!(
            "{{\"name\":{},\"kind\":{},\"args\":[{}],\"returns\":{},\"error\":{}}}",
            json_str(&name_str),
            json_str(kind),
            args_json.join(","),
            returns,
            error
        ));
        let export = format_ident!("__chainvm_entry_{}", name);
        // `line!()` spanned at the method name reports the method's line.
        let line = quote::quote_spanned! { f.sig.ident.span()=> ::core::line!() };
        let this_decl = if view {
            quote! { let __this = <#self_ty as ::core::default::Default>::default(); }
        } else {
            quote! { let mut __this = <#self_ty as ::core::default::Default>::default(); }
        };
        entries.push(quote! {
            #[cfg(target_arch = "wasm32")]
            #[unsafe(export_name = #name_str)]
            #[doc(hidden)]
            pub extern "C" fn #export() {
                let __line: u32 = #line;
                ::chainvm_sdk::__private::begin(#view);
                let (#(#arg_names,)*): (#(#arg_types,)*) =
                    ::chainvm_sdk::__private::args(#name_str, file!(), __line);
                #this_decl
                let __result = __this.#name(#(#arg_names),*);
                #ret_code
            }
        });
    }
    let abi = format!(
        "{{\"contract\":{},\"methods\":[{}]}}",
        json_str(&contract_name),
        methods_json.join(",")
    );
    let section = section_static(ABI_SECTION, "contract", &abi);
    Ok(quote! {
        #imp
        #(#entries)*
        #section
    })
}
