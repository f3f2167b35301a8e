export type Screen = 'keys' | 'products' | 'policies' | 'licenses';
