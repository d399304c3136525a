/**
 * memocell/testing: property-testing helpers. `checkReferentialTransparency` lands
 * with the bridge between the reactive and distributed layers.
 */
export {};
