    assert_eq!(ids.len(), 11);
