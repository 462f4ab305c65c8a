//! `-a` and `--inline` with their `--attach-name` and `--attach-type`, read in the order they
//! were typed.
//!
//! A name or a type applies to the `-a` or `--inline` just before it:
//! `-a - --attach-name stat.txt` reads "attach stdin, as stat.txt". swaks puts them before
//! the file instead; here each file is followed by what describes it, as in a sentence,
//! and a name with no file before it, or a second name for one file, is an error (64), so
//! that a command written the other way round fails instead of naming the wrong file.

use clap::ArgMatches;

use crate::message::compose::{FileSpec, Source};

/// What one argument says, at its place on the command line.
enum Said {
    File {
        inline: bool,
        path: std::path::PathBuf,
    },
    Name(String),
    Type(String),
}

/// The files in the order typed, each with the name and type that follow it.
pub(super) fn file_specs(matches: &ArgMatches) -> Result<Vec<FileSpec>, String> {
    let mut said: Vec<(usize, Said)> = Vec::new();
    for (id, inline) in [("attachments", false), ("inline", true)] {
        said.extend(placed(matches, id).map(|(at, value)| {
            let path = std::path::PathBuf::from(value);
            (at, Said::File { inline, path })
        }));
    }
    said.extend(placed(matches, "attach_name").map(|(at, value)| (at, Said::Name(value))));
    said.extend(placed(matches, "attach_type").map(|(at, value)| (at, Said::Type(value))));
    said.sort_by_key(|(at, _)| *at);
    let mut specs: Vec<FileSpec> = Vec::new();
    for (_, what) in said {
        let (flag, value, slot) = match what {
            Said::File { inline, path } => {
                specs.push(FileSpec {
                    source: Source::from_arg(&path),
                    inline,
                    name: None,
                    media_type: None,
                });
                continue;
            }
            Said::Name(value) => ("--attach-name", value, Slot::Name),
            Said::Type(value) => ("--attach-type", value, Slot::Type),
        };
        let Some(spec) = specs.last_mut() else {
            return Err(format!(
                "{flag} {value} comes before any -a or --inline: it describes the file given \
                 just before it (-a - {flag} {value})"
            ));
        };
        let field = match slot {
            Slot::Name => &mut spec.name,
            Slot::Type => &mut spec.media_type,
        };
        if field.is_some() {
            return Err(format!(
                "{} has two {flag}: give one after each -a or --inline",
                spec.flag()
            ));
        }
        *field = Some(value);
    }
    Ok(specs)
}

enum Slot {
    Name,
    Type,
}

/// The values of the option `id` with their places on the command line.
fn placed<'m>(matches: &'m ArgMatches, id: &str) -> impl Iterator<Item = (usize, String)> + 'm {
    let indices = matches.indices_of(id).into_iter().flatten();
    let values = matches.get_raw(id).into_iter().flatten();
    indices.zip(values.map(|value| value.to_string_lossy().into_owned()))
}
