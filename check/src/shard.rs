//! Cutting a campaign across machines: shard `I/N` runs the units `u` of every engine with
//! `u % N == I` (see [`crate::jobs`]: the exhaustive explorer's units are groups of
//! sequences sharing a prefix, a random engine's units are rounds, each with its own seed).
//!
//! Guarantees: the shards `0/N` to `N-1/N` own every unit exactly once, whatever `N`, and
//! which shard owns a unit depends only on the unit's index, never on timing or on the
//! number of jobs; `0/1` (the default) owns every unit.

use std::fmt;
use std::str::FromStr;

/// The most shards a campaign may be cut into: far more machines than a campaign is run on,
/// small enough that every shard of a depth-6 exploration still owns units.
pub const SHARDS_MAX: u32 = 65_536;

/// One shard of a campaign: `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    index: u32,
    count: u32,
}

/// Why a shard was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// Not of the form `I/N`.
    #[error("a shard is written I/N (this machine's index, from 0, and the number of machines), not {0:?}")]
    Syntax(String),
    /// `N` is 0 or above [`SHARDS_MAX`].
    #[error("the number of shards must be 1 to {SHARDS_MAX}, not {0}")]
    Count(u64),
    /// `I` is not below `N`.
    #[error("shard index {index} is not below the number of shards {count} (indices start at 0)")]
    Index { index: u64, count: u64 },
}

impl Shard {
    /// The whole campaign: one shard.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Shard `index` of `count`.
    pub fn new(index: u32, count: u32) -> Result<Shard, ShardError> {
        if count == 0 || count > SHARDS_MAX {
            return Err(ShardError::Count(count.into()));
        }
        if index >= count {
            return Err(ShardError::Index {
                index: index.into(),
                count: count.into(),
            });
        }
        Ok(Shard { index, count })
    }

    /// This shard's index, from 0.
    pub fn index(self) -> u32 {
        self.index
    }

    /// How many shards the campaign is cut into.
    pub fn count(self) -> u32 {
        self.count
    }

    /// Whether this shard runs unit `unit`.
    pub fn owns(self, unit: u64) -> bool {
        unit % u64::from(self.count) == u64::from(self.index)
    }

    /// The `k`-th unit this shard owns (counting from 0).
    pub fn unit(self, k: u64) -> u64 {
        k.saturating_mul(u64::from(self.count))
            .saturating_add(u64::from(self.index))
    }

    /// How many of the units `0..units` this shard owns.
    pub fn owned(self, units: u64) -> u64 {
        let (count, index) = (u64::from(self.count), u64::from(self.index));
        units / count + u64::from(units % count > index)
    }
}

impl Default for Shard {
    fn default() -> Self {
        Shard::WHOLE
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Shard, ShardError> {
        let syntax = || ShardError::Syntax(s.to_owned());
        let (index, count) = s.trim().split_once('/').ok_or_else(syntax)?;
        let number = |t: &str| t.trim().parse::<u64>().map_err(|_| syntax());
        let (index, count) = (number(index)?, number(count)?);
        let count32 = u32::try_from(count)
            .ok()
            .filter(|&c| c > 0 && c <= SHARDS_MAX)
            .ok_or(ShardError::Count(count))?;
        let index32 = u32::try_from(index)
            .ok()
            .filter(|&i| i < count32)
            .ok_or(ShardError::Index { index, count })?;
        Shard::new(index32, count32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shards_of_a_campaign_own_every_unit_exactly_once() {
        for count in [1, 2, 3, 7, 16] {
            for unit in 0..200u64 {
                let owners = (0..count)
                    .filter(|&i| Shard::new(i, count).unwrap().owns(unit))
                    .count();
                assert_eq!(owners, 1, "unit {unit} of {count} shards");
            }
            for index in 0..count {
                let shard = Shard::new(index, count).unwrap();
                for units in 0..50u64 {
                    let owned = (0..units).filter(|&u| shard.owns(u)).count() as u64;
                    assert_eq!(shard.owned(units), owned, "{shard} of {units}");
                    let listed: Vec<u64> = (0..owned).map(|k| shard.unit(k)).collect();
                    let filtered: Vec<u64> = (0..units).filter(|&u| shard.owns(u)).collect();
                    assert_eq!(listed, filtered, "{shard} of {units}");
                }
            }
        }
    }

    #[test]
    fn a_shard_reads_back_as_it_prints_and_bad_ones_are_refused() {
        for (index, count) in [(0, 1), (3, 4), (65_535, 65_536)] {
            let shard = Shard::new(index, count).unwrap();
            assert_eq!(shard.to_string().parse::<Shard>(), Ok(shard));
        }
        assert!(matches!(
            "4/4".parse::<Shard>(),
            Err(ShardError::Index { .. })
        ));
        assert!(matches!("0/0".parse::<Shard>(), Err(ShardError::Count(0))));
        assert!(matches!(
            "1/70000".parse::<Shard>(),
            Err(ShardError::Count(_))
        ));
        for bad in ["", "1", "a/2", "1/2/3", "-1/2", "1/"] {
            assert!(
                matches!(bad.parse::<Shard>(), Err(ShardError::Syntax(_))),
                "{bad}"
            );
        }
    }
}
