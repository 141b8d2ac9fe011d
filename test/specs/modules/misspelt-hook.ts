// A callback whose hook name is misspelt (a validation test).
export class Misspelt {
  onStepEnded(): void {}
}
