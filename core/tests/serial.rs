use dmmirror_core::format::{choose_copy, Chosen, Serial};

#[test]
fn next_counts_up_and_wraps_to_one() {
    assert_eq!(Serial::NEVER.next(), Serial::FIRST);
    assert_eq!(Serial::new(41).next(), Serial::new(42));
    assert_eq!(Serial::new(u64::MAX - 1).next(), Serial::new(u64::MAX));
    assert_eq!(Serial::new(u64::MAX).next(), Serial::new(1));
}

#[test]
fn wrapped_serial_is_newer_than_maximum() {
    let max = Serial::new(u64::MAX);
    let wrapped = max.next();
    assert!(wrapped.is_newer_than(max));
    assert!(!max.is_newer_than(wrapped));
    assert!(Serial::new(3).is_newer_than(Serial::new(u64::MAX - 2)));
    assert_eq!(choose_copy(Some(max), Some(wrapped)), Chosen::Secondary);
    assert_eq!(choose_copy(Some(wrapped), Some(max)), Chosen::Primary);
}

#[test]
fn plain_order_and_never() {
    assert!(Serial::new(2).is_newer_than(Serial::new(1)));
    assert!(!Serial::new(1).is_newer_than(Serial::new(2)));
    assert!(!Serial::new(7).is_newer_than(Serial::new(7)));
    assert!(Serial::new(1).is_newer_than(Serial::NEVER));
    assert!(Serial::new(u64::MAX).is_newer_than(Serial::NEVER));
    assert!(!Serial::NEVER.is_newer_than(Serial::new(1)));
    assert!(!Serial::NEVER.is_newer_than(Serial::NEVER));
}

#[test]
fn order_is_antisymmetric_and_total_at_the_half_way_point() {
    // The ring has u64::MAX live values, an odd number: no pair is ambiguous.
    let half = u64::MAX / 2;
    for base in [1u64, 2, half, half + 1, u64::MAX - 1, u64::MAX] {
        for delta in [1u64, 2, half - 1, half, half + 1, u64::MAX - 2] {
            let a = Serial::new(base);
            // `b` lies `delta` steps ahead of `a` on the ring of live serials.
            let raw = ((u128::from(base) - 1 + u128::from(delta)) % u128::from(u64::MAX)) + 1;
            let b = Serial::new(raw as u64);
            assert_ne!(a, b, "base {base} delta {delta}");
            assert!(
                a.is_newer_than(b) ^ b.is_newer_than(a),
                "base {base} delta {delta}"
            );
            assert_eq!(
                b.is_newer_than(a),
                delta <= half,
                "base {base} delta {delta}"
            );
        }
    }
}

#[test]
fn choice_rule_of_the_spec() {
    assert_eq!(choose_copy(None, None), Chosen::Neither);
    assert_eq!(choose_copy(Some(Serial::new(1)), None), Chosen::Primary);
    // One invalid copy: the valid one wins whatever the serials.
    assert_eq!(choose_copy(None, Some(Serial::new(1))), Chosen::Secondary);
    assert_eq!(
        choose_copy(Some(Serial::new(9)), Some(Serial::new(9))),
        Chosen::Primary
    );
    assert_eq!(
        choose_copy(Some(Serial::new(9)), Some(Serial::new(10))),
        Chosen::Secondary
    );
    assert_eq!(
        choose_copy(Some(Serial::new(10)), Some(Serial::new(9))),
        Chosen::Primary
    );
}
