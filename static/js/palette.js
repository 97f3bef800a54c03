// palette.js — Okabe–Ito colours (distinguishable with every common
// colour-vision deficiency); state is also carried by shape, border and
// words, never by colour alone.
export const OI = {
  black: '#000000',
  orange: '#E69F00',
  sky: '#56B4E9',
  green: '#009E73',
  yellow: '#F0E442',
  blue: '#0072B2',
  vermillion: '#D55E00',
  purple: '#CC79A7',
  grey: '#999999',
};

export const GENERATION_COLOURS = {
  'gen 0': OI.orange,
  'gen 1': OI.sky,
  'gen 2': OI.green,
  frozen: OI.purple,
  untracked: '#ffffff',
};
