use keygen_rs as _;
#[test] fn builds() {}
